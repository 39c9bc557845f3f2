$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES\Microsoft Lync Server 2013\Modules\Lync\Lync.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    Export-CsRgsConfiguration -Source 'ApplicationServer:pool01.contoso.com' -FileName '$STAGING\run\rgs-pool01.contoso.com\CsRgsConfiguration-pool01.contoso.com.zip'
} catch {
    [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ').Trim())
    exit 1
}
exit 0
