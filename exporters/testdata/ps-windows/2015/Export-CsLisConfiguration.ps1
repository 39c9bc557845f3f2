$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES\Skype for Business Server 2015\Modules\SkypeForBusiness\SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    Export-CsLisConfiguration -FileName '$STAGING\run\lis\CsLisConfiguration.zip'
} catch {
    [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ').Trim())
    exit 1
}
exit 0
