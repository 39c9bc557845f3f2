$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES/Skype for Business Server 2019/Modules/SkypeForBusiness/SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    Export-CsConfiguration -FileName '$STAGING/run/csconfig/CsConfiguration.zip'
} catch {
    $lbMessage = ($_.Exception.Message -replace '\s+', ' ').Trim()
    if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.MyCommand -and $_.InvocationInfo.MyCommand.Name) { $lbMessage = $_.InvocationInfo.MyCommand.Name + ': ' + $lbMessage }
    [Console]::Error.WriteLine($lbMessage)
    exit 1
}
exit 0
