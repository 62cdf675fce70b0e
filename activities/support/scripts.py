"""The commands a build step runs on the build VM through Run Command, rendered as text.

Scripts and files travel inside the command itself (base64 in a here-document), read from the staging
account where ``stage_artifacts`` verified them: the VM needs no credentials and no route to the original
URL. Managed Run Command runs as root on Linux and as LocalSystem (elevated) on Windows.
"""

from __future__ import annotations

import base64
import re
import textwrap

DEFAULT_UPDATE_CRITERIA = "BrowseOnly=0 and IsInstalled=0"
UPDATE_LINE = re.compile(r"KILN-WU installed=(\d+) remaining=(\d+) reboot=(true|false)")
LINUX_DEPROVISION = "waagent -force -deprovision+user && export HISTSIZE=0 && sync"
LINUX_DEPROVISION_SCRIPT = "/tmp/DeprovisioningScript.sh"
WINDOWS_DEPROVISION_SCRIPT = r"C:\DeprovisioningScript.ps1"


def _b64(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def shell_script(label: str, content: bytes) -> str:
    """A Linux step: ``content`` (a staged script, or inline lines joined) written to /tmp and executed."""
    return (
        f"#!/bin/bash\n# kiln: {label}\nset -e\n"
        "f=$(mktemp /tmp/kiln-XXXXXX)\n"
        "trap 'rm -f \"$f\"' EXIT\n"
        f"base64 -d > \"$f\" <<'KILN_EOF'\n{_b64(content)}\nKILN_EOF\n"
        # Run through the script's own interpreter, not exec: hardened images mount /tmp noexec.
        "interp=/bin/bash\n"
        'if [ "$(head -c 2 "$f")" = "#!" ]; then interp=$(head -n 1 "$f" | cut -c 3-); fi\n'
        '$interp "$f"\n'
    )


def inline_shell(lines: list[str]) -> bytes:
    """Inline Shell lines as one script, as Packer runs them: ``/bin/sh -e``, stop at the first failure."""
    return ("#!/bin/sh -e\n" + "\n".join(lines) + "\n").encode()


def powershell_script(label: str, content: bytes, *, elevated: bool, system: bool) -> str:
    """A Windows step: the script written to a temp file and run; its exit code is the command's."""
    mode = "system" if system else ("elevated" if elevated else "default")
    return (
        f"# kiln: {label} (run as: {mode}; managed Run Command runs as LocalSystem)\n"
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
        "$f = Join-Path $env:TEMP ('kiln-' + [guid]::NewGuid().ToString() + '.ps1')\n"
        f"$b = @'\n{_b64(content)}\n'@\n"
        "[IO.File]::WriteAllBytes($f, [Convert]::FromBase64String(($b -replace '\\s', '')))\n"
        "& powershell.exe -NoProfile -ExecutionPolicy Bypass -File $f\n"
        "exit $LASTEXITCODE\n"
    )


def inline_powershell(lines: list[str]) -> bytes:
    """Inline PowerShell lines as one script that exits with the last native exit code."""
    return ("\n".join(lines) + "\nexit $LASTEXITCODE\n").encode()


def file_script(label: str, content: bytes, destination: str, *, windows: bool) -> str:
    """Write ``content`` to ``destination`` on the VM (its parent directory must exist, as in AIB)."""
    if windows:
        return (
            f"# kiln: {label}\n$ErrorActionPreference = 'Stop'\n$b = @'\n{_b64(content)}\n'@\n"
            f"[IO.File]::WriteAllBytes({_ps_quote(destination)}, "
            "[Convert]::FromBase64String(($b -replace '\\s', '')))\n"
        )
    return (
        f"#!/bin/bash\n# kiln: {label}\nset -e\n"
        f"base64 -d > {_sh_quote(destination)} <<'KILN_EOF'\n{_b64(content)}\nKILN_EOF\n"
    )


def restart_check_script(label: str, command: str) -> str:
    """Run ``restartCheckCommand`` after a restart (or just report the computer is back)."""
    body = command or 'Write-Output "kiln: $env:COMPUTERNAME restarted"'
    return f"# kiln: {label}\n$ProgressPreference = 'SilentlyContinue'\n{body}\nexit $LASTEXITCODE\n"


def windows_update_script(label: str, criteria: str | None, filters: list[str] | None, limit: int) -> str:
    """One Windows Update round; the last output line says ``KILN-WU installed=N remaining=M reboot=b``.

    Filters follow packer-provisioner-windows-update: ``include:<expr>`` / ``exclude:<expr>`` evaluated in
    order against each update as ``$_``; the first match decides; with filters, an update none matches is
    skipped.
    """
    rules = []
    for f in filters or []:
        kind, _, expr = f.partition(":")
        include = "$true" if kind.strip().lower() == "include" else "$false"
        rules.append(f"    @{{ Include = {include}; Test = {{ {expr} }} }}")
    rules_ps = ",\n".join(rules)
    return WINDOWS_UPDATE_TEMPLATE.format(
        label=label,
        criteria=_ps_quote(criteria or DEFAULT_UPDATE_CRITERIA),
        limit=limit,
        rules=rules_ps,
        has_rules="$true" if rules else "$false",
    )


WINDOWS_UPDATE_TEMPLATE = """# kiln: {label}
$ErrorActionPreference = 'Stop'
$rules = @(
{rules}
)
function Test-KilnUpdate($u) {{
    if (-not {has_rules}) {{ return $true }}
    foreach ($r in $rules) {{ if (@($u | Where-Object $r.Test).Count -gt 0) {{ return $r.Include }} }}
    return $false
}}
$session = New-Object -ComObject Microsoft.Update.Session
$found = $session.CreateUpdateSearcher().Search({criteria}).Updates
$selected = New-Object -ComObject Microsoft.Update.UpdateColl
$remaining = 0
foreach ($u in $found) {{
    if (-not (Test-KilnUpdate $u)) {{ continue }}
    if ($selected.Count -ge {limit}) {{ $remaining++; continue }}
    if (-not $u.EulaAccepted) {{ $u.AcceptEula() }}
    Write-Output ("kiln: selected " + $u.Title)
    [void]$selected.Add($u)
}}
$installed = 0
$reboot = $false
if ($selected.Count -gt 0) {{
    $downloader = $session.CreateUpdateDownloader()
    $downloader.Updates = $selected
    [void]$downloader.Download()
    $installer = $session.CreateUpdateInstaller(); $installer.Updates = $selected
    $result = $installer.Install()
    $reboot = $result.RebootRequired
    for ($i = 0; $i -lt $selected.Count; $i++) {{
        if ($result.GetUpdateResult($i).ResultCode -eq 2) {{ $installed++ }} else {{ $remaining++ }}
    }}
}}
$line = "KILN-WU installed={{0}} remaining={{1}} reboot={{2}}"
Write-Output ($line -f $installed, $remaining, "$reboot".ToLower())
"""


def parse_update_line(output: str) -> tuple[int, int, bool] | None:
    """(installed, remaining, reboot) from a Windows Update round's output, or None if absent."""
    found = UPDATE_LINE.findall(output)
    if not found:
        return None
    installed, remaining, reboot = found[-1]
    return int(installed), int(remaining), reboot == "true"


def deprovision_script(*, windows: bool) -> str:
    """Generalize the OS, or run the user's own DeprovisioningScript when a customizer wrote one."""
    if windows:
        return WINDOWS_DEPROVISION
    return (
        "#!/bin/bash\n# kiln: deprovision\n"
        f"if [ -f {LINUX_DEPROVISION_SCRIPT} ]; then\n  sh {LINUX_DEPROVISION_SCRIPT}\n"
        f"else\n  {LINUX_DEPROVISION}\nfi\n"
    )


# AIB waits for the guest agent's services before Sysprep and until Windows reports it sealed for OOBE.
WINDOWS_DEPROVISION = f"""# kiln: sysprep
$ErrorActionPreference = 'Stop'
if (Test-Path '{WINDOWS_DEPROVISION_SCRIPT}') {{
    & '{WINDOWS_DEPROVISION_SCRIPT}'
    exit $LASTEXITCODE
}}
foreach ($s in 'RdAgent', 'WindowsAzureGuestAgent') {{
    while ((Get-Service $s -ErrorAction SilentlyContinue).Status -ne 'Running') {{ Start-Sleep -Seconds 5 }}
}}
& $env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /quit /mode:vm
while ($true) {{
    $state = (Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State).ImageState
    if ($state -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') {{ break }}
    Write-Output $state
    Start-Sleep -Seconds 10
}}
Write-Output 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
"""
