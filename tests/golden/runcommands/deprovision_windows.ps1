# kiln: sysprep
$ErrorActionPreference = 'Stop'
if (Test-Path 'C:\DeprovisioningScript.ps1') {
    & 'C:\DeprovisioningScript.ps1'
    exit $LASTEXITCODE
}
foreach ($s in 'RdAgent', 'WindowsAzureGuestAgent') {
    while ((Get-Service $s -ErrorAction SilentlyContinue).Status -ne 'Running') { Start-Sleep -Seconds 5 }
}
& $env:SystemRoot\System32\Sysprep\Sysprep.exe /oobe /generalize /quiet /quit /mode:vm
while ($true) {
    $state = (Get-ItemProperty HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State).ImageState
    if ($state -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') { break }
    Write-Output $state
    Start-Sleep -Seconds 10
}
Write-Output 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
