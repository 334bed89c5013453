<#
.SYNOPSIS
  Build the Custos agent client for Windows: the frozen one-folder binary (PyInstaller),
  the NSIS installer with the site's config, Authenticode-signed and verified.

.DESCRIPTION
  Run from the repository root on Windows with Python 3.11+ and `pip install .[agent,build]`
  done, NSIS 3 (makensis) and the Windows SDK's signtool installed:

    powershell -File packaging\windows\build.ps1 -Config bundle\custos-agent.toml [-TufRoot bundle\tuf-root.json]

  Signing material comes only from the environment, never the command line:
    CUSTOS_SIGN_PFX            path of a PKCS#12 (.pfx) with the code-signing key and chain
    CUSTOS_SIGN_PFX_PASSWORD   its password (or CUSTOS_SIGN_PASS_FILE: a file holding it)
    CUSTOS_SIGN_TIMESTAMP_URL  optional RFC 3161 time-stamping server
  The PFX is imported into the current user's certificate store for signtool (so the password
  is never an argument) and removed again when the script ends, whatever happens.
  Without CUSTOS_SIGN_PFX, pass -Unsigned.

  Output: dist\custos-agent\ (the frozen build; custos-agent.exe and the uninstaller signed too) and
  dist\custos-agent-setup-<version>.exe. Each signature is verified (signtool verify /pa and
  Get-AuthenticodeSignature) before the script goes on.
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)] [string] $Config,
  [string] $TufRoot = "",
  [string] $Version = "",
  [switch] $Unsigned,
  [switch] $SkipFreeze
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Set-Location $Root
if (-not $Version) {
  $Version = (Select-String -Path "pyproject.toml" -Pattern '^version = "(.*)"$' | Select-Object -First 1).Matches[0].Groups[1].Value
}
if ($Version -notmatch '^(\d+)\.(\d+)\.(\d+)') { throw "version must look like X.Y.Z, got '$Version'" }
$Quad = "$($Matches[1]).$($Matches[2]).$($Matches[3]).0"
$Config = (Resolve-Path $Config).Path
if ($TufRoot) { $TufRoot = (Resolve-Path $TufRoot).Path }
$Payload = Join-Path $Root "dist\custos-agent"
$Installer = Join-Path $Root "dist\custos-agent-setup-$Version.exe"

function Invoke-Checked([string] $Exe, [string[]] $Arguments) {
  & $Exe @Arguments
  if ($LASTEXITCODE -ne 0) { throw "$Exe failed with exit status $LASTEXITCODE" }
}

# 1. The frozen one-folder build (the spec reads name and version from the package).
if (-not $SkipFreeze) {
  Invoke-Checked "python" @("-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", "dist",
    "--workpath", "build\pyinstaller", "packaging\custos-agent.spec")
}
if (-not (Test-Path (Join-Path $Payload "custos-agent.exe"))) { throw "no $Payload\custos-agent.exe" }

function Find-Signtool {
  $found = Get-ChildItem -Path (Join-Path ${env:ProgramFiles(x86)} "Windows Kits\10\bin") -Recurse -Filter signtool.exe |
    Where-Object { $_.FullName -match '\\x64\\' } | Sort-Object FullName | Select-Object -Last 1
  if (-not $found) { throw "signtool.exe not found (install the Windows SDK)" }
  return $found.FullName
}

function Invoke-Sign([string] $Signtool, [string] $Thumbprint, [string] $File) {
  $sign = @("sign", "/sha1", $Thumbprint, "/s", "My", "/fd", "sha256", "/d", "Custos Agent")
  if ($env:CUSTOS_SIGN_TIMESTAMP_URL) { $sign += @("/tr", $env:CUSTOS_SIGN_TIMESTAMP_URL, "/td", "sha256") }
  Invoke-Checked $Signtool ($sign + @($File))
  # the chain must lead to a root this machine trusts
  Invoke-Checked $Signtool @("verify", "/pa", "/v", $File)
  $status = Get-AuthenticodeSignature -FilePath $File
  if ($status.Status -ne "Valid") { throw "signature of $File is $($status.Status): $($status.StatusMessage)" }
}

$makensis = (Get-Command makensis -ErrorAction SilentlyContinue).Source
if (-not $makensis) { $makensis = Join-Path ${env:ProgramFiles(x86)} "NSIS\makensis.exe" }
$defines = @("/V2", "/WX", "/DVERSION=$Version", "/DVERSION_QUAD=$Quad", "/DPAYLOAD_DIR=$Payload",
  "/DCONFIG_FILE=$Config", "/DOUTFILE=$Installer")
if ($TufRoot) { $defines += "/DTUF_ROOT=$TufRoot" }

if ($Unsigned) {
  Invoke-Checked $makensis ($defines + @("packaging\windows\custos-agent.nsi"))
  Write-Host "built (unsigned): $Installer"
  exit 0
}

# 2. Sign the program, build the installer around it, sign and verify the installer. The PFX is
#    imported for the duration of this script only (signtool then needs no password argument).
if (-not $env:CUSTOS_SIGN_PFX) { throw "no signing key: set CUSTOS_SIGN_PFX (or pass -Unsigned)" }
$password = $env:CUSTOS_SIGN_PFX_PASSWORD
if (-not $password -and $env:CUSTOS_SIGN_PASS_FILE) {
  $password = (Get-Content -Raw $env:CUSTOS_SIGN_PASS_FILE).TrimEnd("`r", "`n")
}
$secure = ConvertTo-SecureString -String ([string]$password) -AsPlainText -Force
$signtool = Find-Signtool
$imported = @(Import-PfxCertificate -FilePath $env:CUSTOS_SIGN_PFX -CertStoreLocation Cert:\CurrentUser\My -Password $secure)
try {
  $leaf = $imported | Where-Object { $_.HasPrivateKey } | Select-Object -First 1
  if (-not $leaf) { throw "the PFX holds no private key" }
  Invoke-Sign $signtool $leaf.Thumbprint (Join-Path $Payload "custos-agent.exe")
  # makensis signs the uninstaller before embedding it (one quoted argument: cmd /c keeps it whole)
  $env:PATH = "$(Split-Path $signtool);$env:PATH"
  $uninstSign = "signtool sign /sha1 $($leaf.Thumbprint) /s My /fd sha256"
  if ($env:CUSTOS_SIGN_TIMESTAMP_URL) { $uninstSign += " /tr $($env:CUSTOS_SIGN_TIMESTAMP_URL) /td sha256" }
  Invoke-Checked $makensis ($defines + @("/DUNINST_SIGN=$uninstSign", "packaging\windows\custos-agent.nsi"))
  Invoke-Sign $signtool $leaf.Thumbprint $Installer
} finally {
  foreach ($cert in $imported) {
    Remove-Item -Path "Cert:\CurrentUser\My\$($cert.Thumbprint)" -DeleteKey -ErrorAction SilentlyContinue
  }
}
$status = Get-AuthenticodeSignature -FilePath $Installer
Write-Host "built, signed and verified: $Installer (signer: $($status.SignerCertificate.Subject))"
