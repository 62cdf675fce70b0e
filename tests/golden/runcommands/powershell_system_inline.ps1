# kiln: customize step 0 'setup' attempt 0 (run as: LocalSystem)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$f = Join-Path $env:TEMP ('kiln-' + [guid]::NewGuid().ToString() + '.ps1')
$b = @'
SW5zdGFsbC1XaW5kb3dzRmVhdHVyZSBXZWItU2VydmVyCldyaXRlLU91dHB1dCAnZG9uZScKZXhp
dCAkTEFTVEVYSVRDT0RFCg==
'@
[IO.File]::WriteAllBytes($f, [Convert]::FromBase64String(($b -replace '\s', '')))
& powershell.exe -NoProfile -ExecutionPolicy Bypass -File $f
exit $LASTEXITCODE
