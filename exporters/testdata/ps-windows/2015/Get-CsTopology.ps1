$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES\Skype for Business Server 2015\Modules\SkypeForBusiness\SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    $xml = (Get-CsTopology -AsXml).ToString()
    [System.IO.File]::WriteAllText('$STAGING\run\topology\Topology.xml', $xml, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
} catch {
    [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ').Trim())
    exit 1
}
exit 0
