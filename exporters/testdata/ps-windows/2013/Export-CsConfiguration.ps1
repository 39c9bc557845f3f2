$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES\Microsoft Lync Server 2013\Modules\Lync\Lync.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    Export-CsConfiguration -FileName '$STAGING\run\csconfig\CsConfiguration.zip'
} catch {
    [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ').Trim())
    exit 1
}
exit 0
