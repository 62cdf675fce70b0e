# kiln: customize step 0 'setup' attempt 0: has the VM restarted?
$booted = (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToString('o')
if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\kiln-restart-pending') {
    [Console]::Out.WriteLine("kiln: not restarted yet (up since $booted)")
    exit 75
}
[Console]::Out.WriteLine("kiln: restarted (up since $booted)")
exit 0
