"""azuresim: an HTTPS emulator of the Azure endpoints kiln calls (see README.md)."""
