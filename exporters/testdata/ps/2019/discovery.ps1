$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {
    Import-Module -Name '$COMMONFILES/Skype for Business Server 2019/Modules/SkypeForBusiness/SkypeForBusiness.psd1' -DisableNameChecking -WarningAction SilentlyContinue
    try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding -ArgumentList $false } catch { }
    function ConvertTo-LbService($s, [switch]$Pool) {
        $o = [ordered]@{}
        foreach ($p in 'Identity', 'PoolFqdn', 'SiteId', 'Version', 'SqlInstanceName', 'UncPath', 'PersistentChatDatabase') {
            if ($null -ne $s.PSObject.Properties[$p] -and $null -ne $s.$p) { $o[$p] = [string]$s.$p }
        }
        if ($null -ne $s.PSObject.Properties['DependentServiceList']) { $o['DependentServiceList'] = @($s.DependentServiceList | ForEach-Object { [string]$_ }) }
        if ($Pool) {
            $o['Computers'] = @()
            try { $o['Computers'] = @((Get-CsPool -Identity $s.PoolFqdn).Computers | ForEach-Object { [string]$_ }) } catch { }
        }
        [pscustomobject]$o
    }
    function Get-LbService([string]$Role, [switch]$Optional, [switch]$Pool) {
        $a = @{ $Role = $true }
        if ($Optional) {
            try { return @(Get-CsService @a | ForEach-Object { ConvertTo-LbService $_ -Pool:$Pool }) } catch { return @() }
        }
        @(Get-CsService @a | ForEach-Object { ConvertTo-LbService $_ -Pool:$Pool })
    }
    $store = @()
    try {
        $store = @(Get-CsConfigurationStoreLocation | ForEach-Object {
            if ($null -ne $_.PSObject.Properties['BackEndServer']) { [pscustomobject]@{ BackEndServer = [string]$_.BackEndServer; MirrorBackEndServer = [string]$_.MirrorBackEndServer } }
            else { [pscustomobject]@{ BackEndServer = [string]$_; MirrorBackEndServer = '' } }
        })
    } catch { }
    $result = [pscustomobject]@{
        UserServer = Get-LbService UserServer -Pool
        ApplicationServer = Get-LbService ApplicationServer -Pool
        FileStore = Get-LbService FileStore
        ConfigurationStoreLocation = $store
        CentralManagementDatabase = Get-LbService CentralManagementDatabase -Optional
        PersistentChatServer = Get-LbService PersistentChatServer -Optional
        PersistentChatDatabase = Get-LbService PersistentChatDatabase -Optional
        MonitoringDatabase = Get-LbService MonitoringDatabase -Optional
        ArchivingDatabase = Get-LbService ArchivingDatabase -Optional
    }
    [Console]::Out.Write((ConvertTo-Json -InputObject $result -Depth 4 -Compress))
} catch {
    $lbMessage = ($_.Exception.Message -replace '\s+', ' ').Trim()
    if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.MyCommand -and $_.InvocationInfo.MyCommand.Name) { $lbMessage = $_.InvocationInfo.MyCommand.Name + ': ' + $lbMessage }
    [Console]::Error.WriteLine($lbMessage)
    exit 1
}
exit 0
