$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES\Skype for Business Server 2019\Modules\SkypeForBusiness\SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding -ArgumentList $false } catch { }
    function Get-LbPool($s) {
        $computers = @()
        try { $computers = @((Get-CsPool -Identity $s.PoolFqdn).Computers | ForEach-Object { [string]$_ }) } catch { }
        [pscustomobject]@{ Identity = [string]$s.Identity; PoolFqdn = [string]$s.PoolFqdn; SiteId = [string]$s.SiteId; Computers = $computers }
    }
    $store = ''
    try { $store = [string](Get-CsConfigurationStoreLocation) } catch { }
    $chat = @()
    try { $chat = @(Get-CsService -PersistentChatServer | ForEach-Object { [string]$_.PersistentChatDatabase }) } catch { }
    $result = [pscustomobject]@{
        UserServer = @(Get-CsService -UserServer | ForEach-Object { Get-LbPool $_ })
        ApplicationServer = @(Get-CsService -ApplicationServer | ForEach-Object { Get-LbPool $_ })
        FileStore = @(Get-CsService -FileStore | ForEach-Object { [pscustomobject]@{ Identity = [string]$_.Identity; PoolFqdn = [string]$_.PoolFqdn; SiteId = [string]$_.SiteId; UncPath = [string]$_.UncPath; DependentServiceList = @($_.DependentServiceList | ForEach-Object { [string]$_ }) } })
        ConfigStore = $store
        PersistentChatDatabase = $chat
    }
    [Console]::Out.Write((ConvertTo-Json -InputObject $result -Depth 4 -Compress))
} catch {
    [Console]::Error.WriteLine(($_.Exception.Message -replace '\s+', ' ').Trim())
    exit 1
}
exit 0
