# kiln: customize step 0 'setup' attempt 0: mark this boot
$ErrorActionPreference = 'Stop'
$k = [Microsoft.Win32.Registry]::LocalMachine.CreateSubKey('SOFTWARE\kiln-restart-pending', [Microsoft.Win32.RegistryKeyPermissionCheck]::ReadWriteSubTree, [Microsoft.Win32.RegistryOptions]::Volatile)
$k.SetValue('bootTime', (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToString('o'))
$k.Close()
$ErrorActionPreference = 'Continue'
shutdown /r /f /t 5 /c "kiln restart"
exit $LASTEXITCODE
