# kiln: customize step 0 'setup' attempt 0
$ErrorActionPreference = 'Stop'
$rules = @(
    @{ Include = $false; Test = { $_.Title -like '*Preview*' } },
    @{ Include = $true; Test = { $true } }
)
function Test-KilnUpdate($u) {
    if (-not $true) { return $true }
    foreach ($r in $rules) { if (@($u | Where-Object $r.Test).Count -gt 0) { return $r.Include } }
    return $false
}
$session = New-Object -ComObject Microsoft.Update.Session
$found = $session.CreateUpdateSearcher().Search('IsInstalled=0').Updates
$selected = New-Object -ComObject Microsoft.Update.UpdateColl
$remaining = 0
foreach ($u in $found) {
    if (-not (Test-KilnUpdate $u)) { continue }
    if ($selected.Count -ge 20) { $remaining++; continue }
    if (-not $u.EulaAccepted) { $u.AcceptEula() }
    Write-Output ("kiln: selected " + $u.Title)
    [void]$selected.Add($u)
}
$installed = 0
$reboot = $false
if ($selected.Count -gt 0) {
    $downloader = $session.CreateUpdateDownloader()
    $downloader.Updates = $selected
    [void]$downloader.Download()
    $installer = $session.CreateUpdateInstaller(); $installer.Updates = $selected
    $result = $installer.Install()
    $reboot = $result.RebootRequired
    for ($i = 0; $i -lt $selected.Count; $i++) {
        if ($result.GetUpdateResult($i).ResultCode -eq 2) { $installed++ } else { $remaining++ }
    }
}
$line = "KILN-WU installed={0} remaining={1} reboot={2}"
Write-Output ($line -f $installed, $remaining, "$reboot".ToLower())
