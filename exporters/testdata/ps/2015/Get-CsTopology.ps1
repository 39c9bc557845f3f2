$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES/Skype for Business Server 2015/Modules/SkypeForBusiness/SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    $xml = (Get-CsTopology -AsXml).ToString()
    [System.IO.File]::WriteAllText('$STAGING/run/topology/Topology.xml', $xml, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
} catch {
    $lbMessage = ($_.Exception.Message -replace '\s+', ' ').Trim()
    if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.MyCommand -and $_.InvocationInfo.MyCommand.Name) { $lbMessage = $_.InvocationInfo.MyCommand.Name + ': ' + $lbMessage }
    [Console]::Error.WriteLine($lbMessage)
    exit 1
}
exit 0
