param([string]$KilnPassword)
# kiln: customize step 0 'setup' attempt 0 (run as: kilnadmin, elevated)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$d = Join-Path $env:SystemRoot ('Temp\kiln-' + [guid]::NewGuid().ToString())
[void](New-Item -ItemType Directory -Path $d)
$f = Join-Path $d 'step.ps1'; $o = Join-Path $d 'output.log'; $c = Join-Path $d 'exitcode'
function Kiln-Fetch([string]$Url, [string]$Sha256, [string]$Path) {
    $ProgressPreference = 'SilentlyContinue'
    for ($i = 1; ; $i++) {
        try { Invoke-WebRequest -UseBasicParsing -Uri $Url -OutFile $Path; break }
        catch { if ($i -ge 5) { throw 'kiln: downloading the staged artifact from staging failed' } }
        Start-Sleep -Seconds 2
    }
    $got = (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLower()
    if ($got -ne $Sha256) { throw "kiln: the downloaded artifact has sha256 $got, not $Sha256" }
}
Kiln-Fetch 'https://kilnstaging0123456789.blob.core.windows.net/artifacts/run-1/customize/0?sv=2024-08-04&sp=r&sig=SIG' '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' $f
[void](icacls $d /grant ('kilnadmin:(OI)(CI)M'))
$user = 'kilnadmin'
$w = Join-Path $d 'run.ps1'
Set-Content -LiteralPath $w -Encoding UTF8 -Value @"
& powershell.exe -NoProfile -ExecutionPolicy Bypass -File '$f' *>&1 | Out-File -Encoding UTF8 -FilePath '$o'
Set-Content -LiteralPath '$c' -Value `$LASTEXITCODE
"@
$task = 'kiln-' + [guid]::NewGuid().ToString()
$arguments = "-NoProfile -ExecutionPolicy Bypass -File `"$w`""
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries
$registered = @{ TaskName = $task; Action = $action; Settings = $settings; RunLevel = 'Highest' }
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
