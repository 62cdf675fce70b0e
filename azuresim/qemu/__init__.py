"""azuresim's QEMU compute: local disk images, QEMU processes, the guest agent, and the backend the compute
providers call when azuresim runs with ``--compute qemu``."""
