; Custos agent client: Windows installer (NSIS 3, 64-bit, all users).
;
; Installs the PyInstaller one-folder build for every user of the machine and the
; owner's provisioned deployment config with admin-only write access, so an agent
; (a standard user) cannot point the client at another server or switch a
; protection off. IT deploys it silently:
;
;     custos-agent-setup-0.1.0.exe /S                 (install, or upgrade in place)
;     "C:\Program Files\Custos Agent\uninstall.exe" /S          (keeps the config)
;     "C:\Program Files\Custos Agent\uninstall.exe" /S /PURGE   (removes it too)
;
; Built by build-installer.sh (Linux) or build.ps1 (Windows); both pass:
;
;     -DVERSION=0.1.0            shown in Programs and Features (X.Y.Z; or give VERSION_QUAD=X.Y.Z.W)
;     -DPAYLOAD_DIR=dist/custos-agent   the PyInstaller output: custos-agent.exe and _internal/
;     -DCONFIG_FILE=custos-agent.toml   the site's deployment config (custos-server deployment bundle)
;     -DTUF_ROOT=tuf-root.json          optional: the owner's trusted update root
;     -DOUTFILE=custos-agent-setup.exe
;     -DUNINST_SIGN=<command>           optional: signs the uninstaller (see below)
;
; Where things go (the client reads the config from agent_client.config.system_config_dir()):
;
;     %ProgramFiles%\Custos Agent\custos-agent.exe, _internal\, uninstall.exe
;     %ProgramData%\Custos\custos-agent.toml [, tuf-root.json]
;     Start menu (all users): Custos Agent
;     HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\CustosAgent
;
; Both directories get one ACL (icacls, well-known SIDs so any Windows language
; works): owner Administrators, inheritance removed, Administrators and SYSTEM
; full control, Users read & execute. A standard user may create folders in
; %ProgramData%, so a Custos folder that exists before the first install is
; refused when it is a junction or symlink, and its owner and every entry's ACL
; are reset; the config files are deleted before they are written (no stale hard
; link survives).

Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma
ManifestSupportedOS all
ManifestDPIAware true

!ifndef VERSION
  !error "pass -DVERSION=X.Y.Z"
!endif
!ifndef PAYLOAD_DIR
  !error "pass -DPAYLOAD_DIR=<PyInstaller one-folder output>"
!endif
!ifndef CONFIG_FILE
  !error "pass -DCONFIG_FILE=<the site's custos-agent.toml>"
!endif
!ifndef OUTFILE
  !define OUTFILE "custos-agent-setup-${VERSION}.exe"
!endif
!ifndef VERSION_QUAD
  !searchparse /noerrors "${VERSION}" "" _V1 "." _V2 "." _V3
  !define VERSION_QUAD "${_V1}.${_V2}.${_V3}.0"
!endif

;     -DUNINST_SIGN="<command>"     optional: signs the uninstaller in place ("%1" is appended);
;                                   makensis runs it on the uninstaller before embedding it
!ifdef UNINST_SIGN
  !uninstfinalize '${UNINST_SIGN} "%1"' = 0
!endif

!define PRODUCT "Custos Agent"
!define EXE "custos-agent.exe"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\CustosAgent"
; Administrators, SYSTEM, Users (https://learn.microsoft.com/windows/win32/secauthz/well-known-sids)
!define SID_ADMINS "*S-1-5-32-544"
!define SID_SYSTEM "*S-1-5-18"
!define SID_USERS "*S-1-5-32-545"

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
BrandingText "${PRODUCT} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

!define MULTIUSER_EXECUTIONLEVEL Admin
!define MULTIUSER_INSTALLMODE_INSTDIR "${PRODUCT}"
!define MULTIUSER_USE_PROGRAMFILES64
!include MultiUser.nsh
!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include x64.nsh

VIProductVersion "${VERSION_QUAD}"
VIFileVersion "${VERSION_QUAD}"
VIAddVersionKey /LANG=1033 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${PRODUCT} installer"
VIAddVersionKey /LANG=1033 "LegalCopyright" "Custos"

!define MUI_ABORTWARNING
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Var ConfigDir

; Fail the installation: message (logged in silent mode), exit status 3.
!macro Fail MESSAGE
  DetailPrint "${MESSAGE}"
  MessageBox MB_OK|MB_ICONSTOP "${MESSAGE}" /SD IDOK
  SetErrorLevel 3
  Quit
!macroend

; Run icacls with the given arguments; fail the installation when it does not exit 0.
!macro Icacls ARGS
  nsExec::ExecToLog '"$SYSDIR\icacls.exe" ${ARGS}'
  Pop $0
  ${If} $0 != 0
    !insertmacro Fail "Setting the access rights failed (icacls exit status $0)"
  ${EndIf}
!macroend

; Owner Administrators, inheritance removed, Administrators + SYSTEM full, Users read & execute,
; every entry below reset to inherit only that.
!macro LockDown DIR
  !insertmacro Icacls '"${DIR}" /setowner ${SID_ADMINS} /T /C /Q'
  !insertmacro Icacls '"${DIR}" /inheritance:r /grant:r ${SID_ADMINS}:(OI)(CI)F ${SID_SYSTEM}:(OI)(CI)F ${SID_USERS}:(OI)(CI)RX /Q'
  !insertmacro Icacls '"${DIR}\*" /reset /T /C /Q'
!macroend

; Refuse a directory that is a reparse point (junction, symlink): it could lead elsewhere.
!macro RefuseReparsePoint DIR
  System::Call 'kernel32::GetFileAttributesW(w "${DIR}") i .r1'
  ${If} $1 != -1
    IntOp $2 $1 & 0x400 ; FILE_ATTRIBUTE_REPARSE_POINT
    ${If} $2 != 0
      !insertmacro Fail "${DIR} is a junction or link; remove it and run the installer again"
    ${EndIf}
  ${EndIf}
!macroend

Function .onInit
  ${IfNot} ${RunningX64}
    !insertmacro Fail "${PRODUCT} needs 64-bit Windows"
  ${EndIf}
  StrCpy $9 $INSTDIR ; /D=... from the command line, if given
  !insertmacro MULTIUSER_INIT
  ${If} $9 != ""
    StrCpy $INSTDIR $9
  ${EndIf}
  SetShellVarContext all
  StrCpy $ConfigDir "$APPDATA\Custos" ; all users: %ProgramData%\Custos
FunctionEnd

Function un.onInit
  !insertmacro MULTIUSER_UNINIT
  SetShellVarContext all
  StrCpy $ConfigDir "$APPDATA\Custos"
FunctionEnd

Section "Custos Agent" SecMain
  SectionIn RO
  SetRegView 64

  ; The program: a previous version's libraries are removed first (no stale DLL is loaded).
  !insertmacro RefuseReparsePoint "$INSTDIR"
  RMDir /r "$INSTDIR\_internal"
  SetOutPath "$INSTDIR"
  File "${PAYLOAD_DIR}/${EXE}"
  File /r "${PAYLOAD_DIR}/_internal"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  !insertmacro LockDown "$INSTDIR"

  ; The provisioned config: admin-only write, read by every user's client.
  !insertmacro RefuseReparsePoint "$ConfigDir"
  CreateDirectory "$ConfigDir"
  !insertmacro LockDown "$ConfigDir"
  Delete "$ConfigDir\custos-agent.toml"
  Delete "$ConfigDir\tuf-root.json"
  SetOutPath "$ConfigDir"
  File "/oname=custos-agent.toml" "${CONFIG_FILE}"
  !ifdef TUF_ROOT
    File "/oname=tuf-root.json" "${TUF_ROOT}"
  !endif
  !insertmacro LockDown "$ConfigDir"

  SetOutPath "$INSTDIR"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\${EXE}"

  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "Custos"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${EXE}"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
SectionEnd

; Removes the program, the shortcut and the uninstall entry. The config in
; %ProgramData%\Custos stays (a reinstall or upgrade finds it) unless /PURGE is given.
; Per-user copies (%APPDATA%\custos-agent) are not touched: the client ignores them
; while the machine-wide config exists, and they hold no secrets.
Section "Uninstall"
  SetRegView 64
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  Delete "$INSTDIR\${EXE}"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR" ; only when empty: never removes files Custos did not install
  DeleteRegKey HKLM "${UNINST_KEY}"

  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/PURGE" $1
  ${IfNot} ${Errors}
    Delete "$ConfigDir\custos-agent.toml"
    Delete "$ConfigDir\tuf-root.json"
    RMDir "$ConfigDir"
    DetailPrint "Removed the deployment config in $ConfigDir"
  ${Else}
    DetailPrint "Kept the deployment config in $ConfigDir (uninstall with /PURGE to remove it)"
  ${EndIf}
SectionEnd
