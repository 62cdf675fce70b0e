# kiln: customize step 0 'setup' attempt 0
$ProgressPreference = 'SilentlyContinue'
Get-Service W3SVC
exit $LASTEXITCODE
