"""The commands a build step runs on the build VM through Run Command, rendered as text.

A staged script or file (a ``scriptUri`` / ``sourceUri`` that ``stage_artifacts`` verified and stored in the
staging account) is downloaded by the VM itself with a read-only SAS URL of that one blob (``Fetch``), then
its sha256 checked again before anything uses it; the command carries the URL, never the bytes. Inline
lines are small and travel inside the command (base64 in a here-document). The VM needs no route to the
original URL, only to the staging account. Managed Run Command runs as root on Linux and as LocalSystem
on Windows; a PowerShell step that is not ``runAsSystem`` runs as the build VM's admin user in a scheduled
task (``powershell_as_user``).

azuresim recognises the ``kiln_fetch '<url>' '<sha256>'`` / ``Kiln-Fetch '<url>' '<sha256>'`` lines
(``azuresim/providers/runcommand_exec.py``): keep their shape.
"""

from __future__ import annotations

import base64
import re
import textwrap
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Fetch:
    """A staged artifact the VM downloads: a read-only SAS URL of its blob, and the sha256 it must have."""

    url: str
    sha256: str


# Download to a path, then check the sha256; a failure says which, never the URL (it holds a SAS).
SH_FETCH = """kiln_fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --retry 5 --retry-delay 2 --connect-timeout 30 -o "$3" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=5 -O "$3" "$1"
  else
    printf 'kiln: the build VM has neither curl nor wget to download the staged artifact\n' >&2; false
  fi || { printf 'kiln: downloading the staged artifact from staging failed\\n' >&2; return 1; }
  printf '%s  %s\\n' "$2" "$3" | sha256sum -c --status \\
    || { printf 'kiln: the downloaded artifact does not have sha256 %s\\n' "$2" >&2; return 1; }
}
"""
PS_FETCH = """function Kiln-Fetch([string]$Url, [string]$Sha256, [string]$Path) {
    $ProgressPreference = 'SilentlyContinue'
    for ($i = 1; ; $i++) {
        try { Invoke-WebRequest -UseBasicParsing -Uri $Url -OutFile $Path; break }
        catch { if ($i -ge 5) { throw 'kiln: downloading the staged artifact from staging failed' } }
        Start-Sleep -Seconds 2
    }
    $got = (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLower()
    if ($got -ne $Sha256) { throw "kiln: the downloaded artifact has sha256 $got, not $Sha256" }
}
"""


def _sh_write(content: bytes | Fetch, path: str) -> str:
    """Shell lines putting ``content`` at ``path`` (a quoted path or "$var")."""
    if isinstance(content, Fetch):
        return f"{SH_FETCH}kiln_fetch {_sh_quote(content.url)} {_sh_quote(content.sha256)} {path}\n"
    return f"base64 -d > {path} <<'KILN_EOF'\n{_b64(content)}\nKILN_EOF\n"


def _ps_write(content: bytes | Fetch, path: str) -> str:
    """PowerShell lines putting ``content`` at ``path`` (a quoted path or $var)."""
    if isinstance(content, Fetch):
        return f"{PS_FETCH}Kiln-Fetch {_ps_quote(content.url)} {_ps_quote(content.sha256)} {path}\n"
    return (
        f"$b = @'\n{_b64(content)}\n'@\n"
        f"[IO.File]::WriteAllBytes({path}, [Convert]::FromBase64String(($b -replace '\\s', '')))\n"
    )


_F = '"$f"'  # the step's temp file, quoted for the shell


def shell_script(label: str, content: bytes | Fetch) -> str:
    """A Linux step: ``content`` (a staged script, or inline lines joined) written to /tmp and executed."""
    return (
        f"#!/bin/bash\n# kiln: {label}\nset -e\n"
        "f=$(mktemp /tmp/kiln-XXXXXX)\n"
        "trap 'rm -f \"$f\"' EXIT\n"
        f"{_sh_write(content, _F)}"
        # Run through the script's own interpreter, not exec: hardened images mount /tmp noexec.
        "interp=/bin/bash\n"
        'if [ "$(head -c 2 "$f")" = "#!" ]; then interp=$(head -n 1 "$f" | cut -c 3-); fi\n'
        '$interp "$f"\n'
    )


def inline_shell(lines: list[str]) -> bytes:
    """Inline Shell lines as one script, as Packer runs them: ``/bin/sh -e``, stop at the first failure."""
    return ("#!/bin/sh -e\n" + "\n".join(lines) + "\n").encode()


def powershell_script(label: str, content: bytes | Fetch) -> str:
    """A Windows step run as LocalSystem (``runAsSystem``, and kiln's own steps): the script written to a
    temp file and run; its exit code is the command's."""
    return (
        f"# kiln: {label} (run as: LocalSystem)\n"
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
        "$f = Join-Path $env:TEMP ('kiln-' + [guid]::NewGuid().ToString() + '.ps1')\n"
        f"{_ps_write(content, '$f')}"
        "& powershell.exe -NoProfile -ExecutionPolicy Bypass -File $f\n"
        "exit $LASTEXITCODE\n"
    )


# The admin user's password reaches a step as this protected parameter of its Run Command: Azure passes it
# to the script as ``-KilnPassword`` and never returns it (docs/build.md, "PowerShell as AIB runs it").
PASSWORD_PARAMETER = "KilnPassword"


def powershell_as_user(label: str, content: bytes | Fetch, *, user: str, elevated: bool) -> str:
    """A Windows step run as the build VM's admin user ``user``: not elevated (AIB's default) or elevated
    (``runElevated``), as Packer's elevated provisioner does it.

    Run Command itself runs as LocalSystem; the script runs in a one-shot scheduled task of ``user``, logged
    on with its password (so it has the user's network credentials), at RunLevel ``Limited`` (the UAC-filtered
    token) or ``Highest`` (the full administrator token). The task's output is streamed to the command's
    stdout while it runs; its exit code is the command's. The password arrives as a protected parameter,
    never in this text.
    """
    level = "Highest" if elevated else "Limited"
    how = "elevated" if elevated else "not elevated"
    return (
        f"param([string]${PASSWORD_PARAMETER})\n"
        f"# kiln: {label} (run as: {user}, {how})\n"
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
        "$d = Join-Path $env:SystemRoot ('Temp\\kiln-' + [guid]::NewGuid().ToString())\n"
        "[void](New-Item -ItemType Directory -Path $d)\n"
        "$f = Join-Path $d 'step.ps1'; $o = Join-Path $d 'output.log'; $c = Join-Path $d 'exitcode'\n"
        f"{_ps_write(content, '$f')}"
        f"[void](icacls $d /grant ({_ps_quote(user + ':(OI)(CI)M')}))\n"
        f"$user = {_ps_quote(user)}\n" + AS_USER_TEMPLATE.replace("{level}", level)
    )


AS_USER_TEMPLATE = """$w = Join-Path $d 'run.ps1'
Set-Content -LiteralPath $w -Encoding UTF8 -Value @"
& powershell.exe -NoProfile -ExecutionPolicy Bypass -File '$f' *>&1 | Out-File -Encoding UTF8 -FilePath '$o'
Set-Content -LiteralPath '$c' -Value `$LASTEXITCODE
"@
$task = 'kiln-' + [guid]::NewGuid().ToString()
$arguments = "-NoProfile -ExecutionPolicy Bypass -File `"$w`""
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries
$registered = @{ TaskName = $task; Action = $action; Settings = $settings; RunLevel = '{level}' }
Register-ScheduledTask @registered -User $user -Password $KilnPassword | Out-Null
$KilnPassword = $null
$read = 0
function Copy-KilnOutput {
    if (-not (Test-Path -LiteralPath $o)) { return }
    $s = [IO.File]::Open($o, 'Open', 'Read', 'ReadWrite')
    try {
        [void]$s.Seek($script:read, 'Begin')
        $buffer = New-Object byte[] ($s.Length - $script:read)
        $n = $s.Read($buffer, 0, $buffer.Length)
        $script:read += $n
        $text = [Text.Encoding]::UTF8.GetString($buffer, 0, $n).TrimStart([char]0xFEFF)
        if ($n -gt 0) { [Console]::Out.Write($text) }
    } finally { $s.Dispose() }
}
try {
    Start-ScheduledTask -TaskName $task
    while (-not (Test-Path -LiteralPath $c)) {
        Copy-KilnOutput
        # 267009: running, 267011: not run yet; anything else: the task ended (wrote its exit code or not)
        $result = (Get-ScheduledTaskInfo -TaskName $task).LastTaskResult
        $state = (Get-ScheduledTask -TaskName $task).State
        if ($result -ne 267009 -and $result -ne 267011 -and $state -ne 'Running') {
            Start-Sleep -Seconds 2
            if (-not (Test-Path -LiteralPath $c)) {
                $why = "kiln: the step's scheduled task ended without an exit code (task result $result)"
                [Console]::Error.WriteLine($why)
                exit 1
            }
        }
        Start-Sleep -Seconds 2
    }
    Copy-KilnOutput
    exit [int]((Get-Content -LiteralPath $c -Raw).Trim())
} finally {
    Unregister-ScheduledTask -TaskName $task -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $d -Recurse -Force -ErrorAction SilentlyContinue
}
"""


def inline_powershell(lines: list[str]) -> bytes:
    """Inline PowerShell lines as one script that exits with the last native exit code."""
    return ("\n".join(lines) + "\nexit $LASTEXITCODE\n").encode()


def file_script(label: str, content: bytes | Fetch, destination: str, *, windows: bool) -> str:
    """Put ``content`` at ``destination`` on the VM (its parent directory must exist, as in AIB).

    A fetched file streams to ``<destination>.kiln-part`` and is moved into place once its sha256 is
    right, so the destination never holds bytes that were not verified.
    """
    if windows:
        part = _ps_quote(destination + ".kiln-part")
        if isinstance(content, Fetch):
            write = (
                f"{_ps_write(content, part)}Move-Item -Force -LiteralPath {part} {_ps_quote(destination)}\n"
            )
        else:
            write = _ps_write(content, _ps_quote(destination))
        return f"# kiln: {label}\n$ErrorActionPreference = 'Stop'\n{write}"
    if isinstance(content, Fetch):
        part = _sh_quote(destination + ".kiln-part")
        write = f"{_sh_write(content, part)}mv -f {part} {_sh_quote(destination)}\n"
    else:
        write = _sh_write(content, _sh_quote(destination))
    return f"#!/bin/bash\n# kiln: {label}\nset -e\n{write}"


def restart_check_script(label: str, command: str) -> str:
    """Run ``restartCheckCommand`` after a restart (or just report the computer is back)."""
    body = command or 'Write-Output "kiln: $env:COMPUTERNAME restarted"'
    return f"# kiln: {label}\n$ProgressPreference = 'SilentlyContinue'\n{body}\nexit $LASTEXITCODE\n"


# A restart's proof: a mark that only the running boot holds (a volatile registry key on Windows, a file in
# the tmpfs /run on Linux), set before the restart; a boot since then has cleared it.
RESTART_MARK_KEY = "SOFTWARE\\kiln-restart-pending"
RESTART_MARK_FILE = "/run/kiln-restart-pending"
RESTART_PENDING_EXIT = 75  # the proof's exit code while the mark is still there


def restart_mark_script(label: str, command: str | None, *, windows: bool) -> str:
    """Mark the running boot, then run a custom ``restartCommand`` (None: Azure restarts the VM after)."""
    if not windows:
        run = f"{command}\n" if command else ""
        return (
            f"#!/bin/bash\n# kiln: {label}: mark this boot\nset -e\n"
            f"date -u +%Y-%m-%dT%H:%M:%SZ > {RESTART_MARK_FILE}\n{run}"
        )
    run = f"{command}\nexit $LASTEXITCODE\n" if command else ""
    return (
        f"# kiln: {label}: mark this boot\n$ErrorActionPreference = 'Stop'\n"
        "$k = [Microsoft.Win32.Registry]::LocalMachine.CreateSubKey("
        f"{_ps_quote(RESTART_MARK_KEY)}, [Microsoft.Win32.RegistryKeyPermissionCheck]::ReadWriteSubTree, "
        "[Microsoft.Win32.RegistryOptions]::Volatile)\n"
        "$k.SetValue('bootTime', (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToString('o'))\n"
        "$k.Close()\n"
        "$ErrorActionPreference = 'Continue'\n"
        f"{run}"
    )


def restart_proof_script(label: str, *, windows: bool) -> str:
    """Exit 0 (saying when the VM booted) once the VM booted since its mark; ``RESTART_PENDING_EXIT`` while
    the mark is still there (the VM has not gone down yet)."""
    pending = RESTART_PENDING_EXIT
    if not windows:
        return (
            f"#!/bin/bash\n# kiln: {label}: has the VM restarted?\n"
            "booted=$(uptime -s)\n"
            f'if [ -e {RESTART_MARK_FILE} ]; then echo "kiln: not restarted yet (up since $booted)"; '
            f"exit {pending}; fi\n"
            'echo "kiln: restarted (up since $booted)"\n'
        )
    return (
        f"# kiln: {label}: has the VM restarted?\n"
        "$booted = (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToString('o')\n"
        f"if (Test-Path -LiteralPath {_ps_quote('HKLM:' + chr(92) + RESTART_MARK_KEY)}) {{\n"
        '    [Console]::Out.WriteLine("kiln: not restarted yet (up since $booted)")\n'
        f"    exit {pending}\n}}\n"
        '[Console]::Out.WriteLine("kiln: restarted (up since $booted)")\n'
        "exit 0\n"
    )


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
