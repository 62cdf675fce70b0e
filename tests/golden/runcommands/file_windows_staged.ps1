# kiln: customize step 0 'setup' attempt 0
$ErrorActionPreference = 'Stop'
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
Kiln-Fetch 'https://kilnstaging0123456789.blob.core.windows.net/artifacts/run-1/customize/0?sv=2024-08-04&sp=r&sig=SIG' '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' 'C:\app\app.zip.kiln-part'
Move-Item -Force -LiteralPath 'C:\app\app.zip.kiln-part' 'C:\app\app.zip'
