$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES\Skype for Business Server 2015\Modules\SkypeForBusiness\SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    Export-CsPersistentChatData -DBInstance 'sql01.contoso.com\mgc' -FileName '$STAGING\run\persistentchat-pchat01.contoso.com\CsPersistentChatData-pchat01.contoso.com.zip'
} catch {
    [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ').Trim())
    exit 1
}
exit 0
