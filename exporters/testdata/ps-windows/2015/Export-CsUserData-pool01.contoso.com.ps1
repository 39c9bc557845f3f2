$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES\Skype for Business Server 2015\Modules\SkypeForBusiness\SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    Export-CsUserData -PoolFqdn 'pool01.contoso.com' -FileName '$STAGING\run\userdata-pool01.contoso.com\CsUserData-pool01.contoso.com.zip'
} catch {
    $lbMessage = ($_.Exception.Message -replace '\s+', ' ').Trim()
    if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.MyCommand -and $_.InvocationInfo.MyCommand.Name) { $lbMessage = $_.InvocationInfo.MyCommand.Name + ': ' + $lbMessage }
    [Console]::Error.WriteLine($lbMessage)
    exit 1
}
exit 0
