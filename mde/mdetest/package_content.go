package mdetest

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/charmap"
)

// The realistic package: the documented folders and file names, in the
// encodings Windows tools write (netstat and MpCmdRun in UTF-16LE with a
// BOM, PowerShell CSVs in UTF-8 with a BOM, schtasks in Windows-1252, reg
// and net output in plain text), CRLF line ends. RealisticFacts says what
// a reader must find in it.

// encoding of a realistic file.
type encoding int

const (
	asUTF8 encoding = iota
	asUTF8BOM
	asUTF16BOM
	as1252
	asBinary // text is the content, written as is
)

type contentFile struct {
	name string
	enc  encoding
	text string // with \n line ends, turned into \r\n
}

func (c contentFile) bytes() []byte {
	if c.enc == asBinary {
		return []byte(c.text)
	}
	s := strings.ReplaceAll(c.text, "\n", "\r\n")
	switch c.enc {
	case asUTF8BOM:
		return append([]byte{0xEF, 0xBB, 0xBF}, s...)
	case asUTF16BOM:
		units := utf16.Encode([]rune(s))
		b := make([]byte, 2, 2+2*len(units))
		b[0], b[1] = 0xFF, 0xFE
		for _, u := range units {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b
	case as1252:
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
		if err != nil {
			panic("mdetest: realistic text not in Windows-1252: " + err.Error())
		}
		return b
	}
	return []byte(s)
}

// PackageFacts is what the realistic package holds, written down by hand
// from its files (not computed from them), for tests to assert exactly.
type PackageFacts struct {
	// Folders maps each top-level folder to its number of files.
	Folders map[string]int
	// Established are the distinct remote addresses of ESTABLISHED TCP
	// connections, loopback excluded, as netstat writes them (IPv6 without
	// brackets).
	Established []string
	// EstablishedConnections maps each of them to its number of rows.
	EstablishedConnections map[string]int
	// NotEstablished are remote addresses present only in TIME_WAIT,
	// CLOSE_WAIT or LISTENING rows: a reader must not list them.
	NotEstablished []string
	// Loopback counts the ESTABLISHED rows to loopback addresses.
	Loopback int
	// Listening are the distinct local TCP ports in LISTENING state.
	Listening []string
	// DNSRecords counts the "Record Name" lines of DnsCache.txt.
	DNSRecords int
	// Processes counts the Processes CSV's processes; Outside are the
	// executables outside Windows and Program Files.
	Processes int
	Outside   []string
	// Services and RunningServices count the Services CSV's rows.
	Services, RunningServices int
	// ScheduledTasks counts distinct task names (schtasks /v lists a task
	// once per trigger and repeats its header).
	ScheduledTasks int
	// AutorunEntries counts the registry values in the Autoruns files.
	AutorunEntries int
	// Administrators are the members of the local Administrators group.
	Administrators []string
	// PrefetchFiles counts the .pf files.
	PrefetchFiles int
	// FailedInReport are the data points the report marks failed;
	// ErrorOnlyFiles the files that hold only an error text.
	FailedInReport []string
	ErrorOnlyFiles []string
	// Needles are search terms and where they are.
	Needles []Needle
}

// Needle is a search term and the lines of the package holding it.
type Needle struct {
	Term  string
	Path  string // the file of its first match
	Line  int    // the line of its first match, from 1
	Total int    // matching lines in the whole package
}

// RealisticFacts returns the facts of the realistic package.
func RealisticFacts() PackageFacts {
	return PackageFacts{
		Folders: map[string]int{
			"Autoruns": 5, "Installed programs": 1, "Network connections": 5, "Prefetch files": 7,
			"Processes": 1, "Scheduled tasks": 1, "Security event log": 1, "Services": 1,
			"Windows Server Message Block (SMB) sessions": 2, "System Information": 1,
			"Temp Directories": 2, "Users and Groups": 4, "WdSupportLogs": 2, "": 1,
		},
		Established: []string{
			"10.1.2.1", "52.168.117.170", "185.199.108.153", "203.0.113.77",
			"2001:db8:ff::99", "2606:4700::6810:84e5", "fe80::aa:bbff:fecc:ddee%12",
		},
		EstablishedConnections: map[string]int{
			"10.1.2.1": 1, "52.168.117.170": 2, "185.199.108.153": 1, "203.0.113.77": 1,
			"2001:db8:ff::99": 1, "2606:4700::6810:84e5": 1, "fe80::aa:bbff:fecc:ddee%12": 1,
		},
		NotEstablished: []string{"20.42.65.92", "13.107.4.52", "198.51.100.23", "2620:1ec:c11::200", "0.0.0.0", "::"},
		Loopback:       3,
		Listening:      []string{"135", "139", "445", "3389", "49664"},
		DNSRecords:     6,
		Processes:      17,
		Outside: []string{
			`C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`,
			`C:\ProgramData\svchost.exe`,
			`C:\Users\alice\AppData\Local\Microsoft\OneDrive\OneDrive.exe`,
			`C:\Users\alice\AppData\Roaming\Updater\updater.exe`,
			`C:\Users\zoë\Downloads\tool.exe`,
		},
		Services:        12,
		RunningServices: 8,
		ScheduledTasks:  6,
		AutorunEntries:  5,
		Administrators:  []string{`Administrator`, `CONTOSO\Domain Admins`, `CONTOSO\alice`, `CONTOSO\helpdesk-tier1`},
		PrefetchFiles:   6,
		FailedInReport:  []string{"SMB sessions"},
		ErrorOnlyFiles: []string{
			"Autoruns/Winlogon_Userinit.txt",
			"Temp Directories/TempDirectoryList_svc-backup.txt",
		},
		Needles: []Needle{
			// In the UTF-16LE netstat output only.
			{Term: "185.199.108.153", Path: "Network connections/ActiveNetConnections.txt", Line: 30, Total: 1},
			// In the HKCU Run key, the prefetch list, the Processes and
			// Services CSVs (UTF-8 with BOM) and twice in the schtasks CSV.
			{Term: "UPDATER.EXE", Path: "Autoruns/HKCU_Run.txt", Line: 3, Total: 6},
			// Windows-1252 in the schtasks CSV, UTF-8 in the Processes CSV.
			{Term: "zoë", Path: "Processes/Processes.csv", Line: 19, Total: 3},
		},
	}
}

// realisticFiles are the realistic package's files but the filler
// (Security.evtx), in name order.
func realisticFiles() []contentFile {
	return []contentFile{
		{"Autoruns/HKCU_Run.txt", asUTF8, hkcuRun},
		{"Autoruns/Run.txt", asUTF8, hklmRun},
		{"Autoruns/RunOnce.txt", asUTF8, runOnce},
		{"Autoruns/Winlogon_Userinit.txt", asUTF8, "ERROR: The system was unable to find the specified registry key or value.\n"},
		{"Autoruns/Wow6432Node_Run.txt", asUTF8, wowRun},
		{"CollectionSummaryReport.xls", asUTF8, collectionReport},
		{"Installed programs/InstalledPrograms.csv", asUTF8BOM, installedPrograms},
		{"Network connections/ActiveNetConnections.txt", asUTF16BOM, activeNetConnections},
		{"Network connections/Arp.txt", asUTF8, arp},
		{"Network connections/DnsCache.txt", asUTF8, dnsCache},
		{"Network connections/FirewallExecutionLog.txt", asUTF8, "Firewall log collection: pfirewall.log not found, logging is off.\n"},
		{"Network connections/IpConfig.txt", asUTF8, ipConfig},
		{"Prefetch files/Prefetch/CHROME.EXE-5D9E1A8C.pf", asBinary, prefetchBytes("CHROME.EXE")},
		{"Prefetch files/Prefetch/CMD.EXE-0BD30981.pf", asBinary, prefetchBytes("CMD.EXE")},
		{"Prefetch files/Prefetch/EXPLORER.EXE-D5E97654.pf", asBinary, prefetchBytes("EXPLORER.EXE")},
		{"Prefetch files/Prefetch/POWERSHELL.EXE-022A1004.pf", asBinary, prefetchBytes("POWERSHELL.EXE")},
		{"Prefetch files/Prefetch/RUNDLL32.EXE-EF54CB1B.pf", asBinary, prefetchBytes("RUNDLL32.EXE")},
		{"Prefetch files/Prefetch/UPDATER.EXE-1F2E3D4C.pf", asBinary, prefetchBytes("UPDATER.EXE")},
		{"Prefetch files/PrefetchFilesList.txt", asUTF8, prefetchList},
		{"Processes/Processes.csv", asUTF8BOM, processesCSV},
		{"Scheduled tasks/ScheduledTasks.csv", as1252, scheduledTasksCSV},
		{"Services/Services.csv", asUTF8BOM, servicesCSV},
		{"System Information/SystemInformation.txt", asUTF8, systemInfo},
		{"Temp Directories/TempDirectoryList_alice.txt", asUTF8, tempAlice},
		{"Temp Directories/TempDirectoryList_svc-backup.txt", asUTF8, "The system cannot find the path specified.\n"},
		{"Users and Groups/Administrators.txt", asUTF8, administrators},
		{"Users and Groups/Hyper-V Administrators.txt", asUTF8, hyperVAdministrators},
		{"Users and Groups/Remote Desktop Users.txt", asUTF8, remoteDesktopUsers},
		{"Users and Groups/Users.txt", asUTF8, users},
		{"WdSupportLogs/MPSupportFiles.cab", asBinary, "MSCF\x00\x00\x00\x00\x2c\x01\x00\x00\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x00\x00\x00\x03\x01\x01\x00\x01\x00\x00\x00"},
		{"WdSupportLogs/MpCmdRunLog.txt", asUTF16BOM, mpCmdRunLog},
		{"Windows Server Message Block (SMB) sessions/SMBInboundSessions.txt", asUTF8, "No SMB inbound sessions were found.\n"},
		{"Windows Server Message Block (SMB) sessions/SMBOutboundSessions.txt", asUTF8, "No SMB outbound sessions were found.\n"},
	}
}

// prefetchBytes is a compressed prefetch file's look: the MAM header, then
// binary (with NULs, as real ones).
func prefetchBytes(exe string) string {
	b := []byte("MAM\x04\x00\x10\x00\x00")
	for i, c := range []byte(exe) {
		b = append(b, c^byte(i*37), 0, byte(i))
	}
	return string(b)
}

const activeNetConnections = `
IPv4 Statistics

  Packets Received                   = 4381267
  Received Header Errors             = 0
  Received Address Errors            = 12
  Datagrams Forwarded                = 0

TCP Statistics for IPv4

  Active Opens                        = 51234
  Passive Opens                       = 812
  Failed Connection Attempts          = 1204
  Reset Connections                   = 3310
  Current Connections                 = 9
  Segments Received                   = 2719934
  Segments Sent                       = 1838120
  Segments Retransmitted              = 4120

Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1044
  TCP    0.0.0.0:445            0.0.0.0:0              LISTENING       4
  TCP    0.0.0.0:3389           0.0.0.0:0              LISTENING       1228
  TCP    0.0.0.0:49664          0.0.0.0:0              LISTENING       812
  TCP    10.1.2.15:139          0.0.0.0:0              LISTENING       4
  TCP    10.1.2.15:49712        52.168.117.170:443     ESTABLISHED     3456
  TCP    10.1.2.15:49713        52.168.117.170:443     ESTABLISHED     3456
  TCP    10.1.2.15:49715        185.199.108.153:443    ESTABLISHED     7812
  TCP    10.1.2.15:49720        10.1.2.1:445           ESTABLISHED     4
  TCP    10.1.2.15:49731        203.0.113.77:8080      ESTABLISHED     6620
  TCP    10.1.2.15:49740        20.42.65.92:443        TIME_WAIT       0
  TCP    10.1.2.15:49741        13.107.4.52:80         TIME_WAIT       0
  TCP    10.1.2.15:49750        198.51.100.23:443      CLOSE_WAIT      5120
  TCP    127.0.0.1:49670        127.0.0.1:49671        ESTABLISHED     2980
  TCP    127.0.0.1:49671        127.0.0.1:49670        ESTABLISHED     2980
  TCP    [::]:135               [::]:0                 LISTENING       1044
  TCP    [::]:445               [::]:0                 LISTENING       4
  TCP    [::]:3389              [::]:0                 LISTENING       1228
  TCP    [2001:db8:10::15]:49800  [2606:4700::6810:84e5]:443  ESTABLISHED     7812
  TCP    [2001:db8:10::15]:49801  [2001:db8:ff::99]:22  ESTABLISHED     6620
  TCP    [2001:db8:10::15]:49802  [2620:1ec:c11::200]:443  TIME_WAIT       0
  TCP    [::1]:49900            [::1]:8000             ESTABLISHED     3100
  TCP    [fe80::1c2a:3b4c:5d6e:7f80%12]:49810  [fe80::aa:bbff:fecc:ddee%12]:445  ESTABLISHED     4
  UDP    0.0.0.0:123            *:*                                    1424
  UDP    0.0.0.0:5353           *:*                                    2044
  UDP    [::]:123               *:*                                    1424
`

const dnsCache = `
Windows IP Configuration

    login.microsoftonline.com
    ----------------------------------------
    Record Name . . . . . : login.microsoftonline.com
    Record Type . . . . . : 5
    Time To Live  . . . . : 121
    Data Length . . . . . : 8
    Section . . . . . . . : Answer
    CNAME Record  . . . . : login.mso.msidentity.com

    Record Name . . . . . : login.mso.msidentity.com
    Record Type . . . . . : 1
    Time To Live  . . . . : 121
    Data Length . . . . . : 4
    Section . . . . . . . : Answer
    A (Host) Record . . . : 20.190.151.68


    update.example-cdn.net
    ----------------------------------------
    Record Name . . . . . : update.example-cdn.net
    Record Type . . . . . : 1
    Time To Live  . . . . : 30
    Data Length . . . . . : 4
    Section . . . . . . . : Answer
    A (Host) Record . . . : 203.0.113.77


    github.com
    ----------------------------------------
    Record Name . . . . . : github.com
    Record Type . . . . . : 1
    Time To Live  . . . . : 42
    Data Length . . . . . : 4
    Section . . . . . . . : Answer
    A (Host) Record . . . : 140.82.121.4

    Record Name . . . . . : github.com
    Record Type . . . . . : 28
    Time To Live  . . . . : 42
    Data Length . . . . . : 16
    Section . . . . . . . : Answer
    AAAA Record . . . . . : 2606:4700::6810:84e5


    wpad
    ----------------------------------------
    Name does not exist.


    1.2.1.10.in-addr.arpa
    ----------------------------------------
    Record Name . . . . . : 1.2.1.10.in-addr.arpa.
    Record Type . . . . . : 12
    Time To Live  . . . . : 86400
    Data Length . . . . . : 8
    Section . . . . . . . : Answer
    PTR Record  . . . . . : gw.contoso.local
`

// processesCSV is PowerShell's Export-Csv of Win32_Process.
const processesCSV = `#TYPE Selected.System.Management.ManagementObject
"Name","ProcessId","ParentProcessId","ExecutablePath","CommandLine"
"System Idle Process","0","0","",""
"System","4","0","",""
"Registry","120","4","",""
"smss.exe","404","4","\SystemRoot\System32\smss.exe","\SystemRoot\System32\smss.exe"
"csrss.exe","612","596","C:\Windows\system32\csrss.exe","%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,20480,768"
"wininit.exe","700","596","C:\Windows\system32\wininit.exe","wininit.exe"
"services.exe","812","700","C:\Windows\system32\services.exe","C:\Windows\system32\services.exe"
"lsass.exe","828","700","C:\Windows\system32\lsass.exe","C:\Windows\system32\lsass.exe"
"svchost.exe","1044","812","C:\Windows\system32\svchost.exe","C:\Windows\system32\svchost.exe -k RPCSS -p"
"MsMpEng.exe","3456","812","C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe","""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe"""
"explorer.exe","5120","5088","C:\Windows\Explorer.EXE","C:\Windows\Explorer.EXE"
"chrome.exe","7812","5120","C:\Program Files\Google\Chrome\Application\chrome.exe","""C:\Program Files\Google\Chrome\Application\chrome.exe"" --type=renderer"
"OneDrive.exe","6012","5120","C:\Users\alice\AppData\Local\Microsoft\OneDrive\OneDrive.exe","""C:\Users\alice\AppData\Local\Microsoft\OneDrive\OneDrive.exe"" /background"
"updater.exe","6620","5120","C:\Users\alice\AppData\Roaming\Updater\updater.exe","C:\Users\alice\AppData\Roaming\Updater\updater.exe /silent"
"svchost.exe","6688","6620","C:\ProgramData\svchost.exe","C:\ProgramData\svchost.exe -k netsvcs"
"Teams.exe","7010","5120","C:\Program Files (x86)\Microsoft\Teams\current\Teams.exe","Teams.exe"
"tool.exe","7100","5120","C:\Users\zoë\Downloads\tool.exe","tool.exe --scan"
`

// servicesCSV is Export-Csv of Win32_Service.
const servicesCSV = `"Name","DisplayName","State","StartMode","PathName"
"BFE","Base Filtering Engine","Running","Auto","C:\Windows\system32\svchost.exe -k LocalServiceNoNetworkFirewall -p"
"Dhcp","DHCP Client","Running","Auto","C:\Windows\system32\svchost.exe -k LocalServiceNetworkRestricted -p"
"Dnscache","DNS Client","Running","Auto","C:\Windows\system32\svchost.exe -k NetworkService -p"
"EventLog","Windows Event Log","Running","Auto","C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted -p"
"LanmanServer","Server","Running","Auto","C:\Windows\system32\svchost.exe -k netsvcs -p"
"RpcSs","Remote Procedure Call (RPC)","Running","Auto","C:\Windows\system32\svchost.exe -k rpcss -p"
"Sense","Windows Defender Advanced Threat Protection Service","Running","Auto","""C:\Program Files\Windows Defender Advanced Threat Protection\MsSense.exe"""
"UpdaterSvc","Updater Service","Running","Auto","C:\Users\alice\AppData\Roaming\Updater\updater.exe --service"
"Fax","Fax","Stopped","Manual","C:\Windows\system32\fxssvc.exe"
"RemoteRegistry","Remote Registry","Stopped","Disabled","C:\Windows\system32\svchost.exe -k localService -p"
"TermService","Remote Desktop Services","Stopped","Manual","C:\Windows\System32\svchost.exe -k NetworkService"
"wuauserv","Windows Update","Stopped","Manual","C:\Windows\system32\svchost.exe -k netsvcs -p"
`

// scheduledTasksCSV is schtasks /query /fo csv /v: the header again before
// each folder, a task with two triggers on two rows.
const scheduledTasksCSV = `"HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Run As User"
"WS-0142","\GoogleUpdateTaskMachineCore","03/01/2026 09:12:00","Ready","Interactive/Background","02/01/2026 09:12:01","0","Google LLC","C:\Program Files (x86)\Google\Update\GoogleUpdate.exe /c","SYSTEM"
"WS-0142","\UpdaterDaily","03/01/2026 08:00:00","Ready","Interactive only","02/01/2026 08:00:00","0","Zoë Brandt","C:\Users\alice\AppData\Roaming\Updater\updater.exe /check","alice"
"WS-0142","\UpdaterDaily","03/01/2026 20:00:00","Ready","Interactive only","02/01/2026 20:00:00","0","Zoë Brandt","C:\Users\alice\AppData\Roaming\Updater\updater.exe /check","alice"
"HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Run As User"
"WS-0142","\Microsoft\Windows\Defrag\ScheduledDefrag","N/A","Ready","Interactive/Background","30/12/2025 01:00:00","0","Microsoft Corporation","%windir%\system32\defrag.exe -c -h -o -$","SYSTEM"
"WS-0142","\Microsoft\Windows\WindowsUpdate\Scheduled Start","03/01/2026 02:00:00","Ready","Interactive/Background","02/01/2026 02:00:00","0","Microsoft Corporation","COM handler","SYSTEM"
"HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author","Task To Run","Run As User"
"WS-0142","\Microsoft\Windows\Windows Defender\Windows Defender Scheduled Scan","03/01/2026 03:00:00","Ready","Interactive/Background","02/01/2026 03:00:00","0","Microsoft Corporation","C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe Scan -ScheduleJob","SYSTEM"
"WS-0142","\Microsoft\Windows\Windows Error Reporting\QueueReporting","N/A","Disabled","Interactive/Background","N/A","1","Microsoft Corporation","%windir%\system32\wermgr.exe -upload","SYSTEM"
`

const hklmRun = `
HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run
    SecurityHealth    REG_EXPAND_SZ    %windir%\system32\SecurityHealthSystray.exe
    VMware User Process    REG_SZ    "C:\Program Files\VMware\VMware Tools\vmtoolsd.exe" -n vmusr

`

const runOnce = `
HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce
    (Default)    REG_SZ    (value not set)

`

const wowRun = `
HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run
    Teams Machine Installer    REG_EXPAND_SZ    %ProgramFiles%\Teams Installer\Teams.exe --checkInstall --source=default

`

const hkcuRun = `
HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run
    Updater    REG_SZ    C:\Users\alice\AppData\Roaming\Updater\updater.exe /silent
    OneDrive    REG_SZ    "C:\Users\alice\AppData\Local\Microsoft\OneDrive\OneDrive.exe" /background

`

const administrators = `Alias name     Administrators
Comment        Administrators have complete and unrestricted access to the computer/domain

Members

-------------------------------------------------------------------------------
Administrator
CONTOSO\Domain Admins
CONTOSO\alice
CONTOSO\helpdesk-tier1
The command completed successfully.

`

const hyperVAdministrators = `Alias name     Hyper-V Administrators
Comment        Members of this group have complete and unrestricted access to all features of Hyper-V.

Members

-------------------------------------------------------------------------------
CONTOSO\hv-admin
The command completed successfully.

`

const remoteDesktopUsers = `Alias name     Remote Desktop Users
Comment        Members in this group are granted the right to logon remotely

Members

-------------------------------------------------------------------------------
CONTOSO\rdp-users
The command completed successfully.

`

const users = `Alias name     Users
Comment        Users are prevented from making accidental or intentional system-wide changes and can run most applications

Members

-------------------------------------------------------------------------------
NT AUTHORITY\Authenticated Users
NT AUTHORITY\INTERACTIVE
The command completed successfully.

`

// collectionReport is the report as an HTML table saved with the .xls
// extension, Excel's "HTML" form.
const collectionReport = `<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style>td { mso-number-format:"\@"; }</style></head>
<body>
<table border="1">
<tr><th>Data Point</th><th>Command</th><th>Execution Status</th><th>Error Code</th></tr>
<tr><td>Autoruns</td><td>reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run</td><td>Success</td><td></td></tr>
<tr><td>Installed programs</td><td>Get-CimInstance Win32_Product | Export-Csv</td><td>Success</td><td></td></tr>
<tr><td>Network connections</td><td>netstat -ano &amp;&amp; ipconfig /displaydns</td><td>Success</td><td></td></tr>
<tr><td>Prefetch files</td><td>copy %windir%\Prefetch\*.pf</td><td>Success</td><td></td></tr>
<tr><td>Processes</td><td>Get-CimInstance Win32_Process | Export-Csv</td><td>Success</td><td></td></tr>
<tr><td>Scheduled tasks</td><td>schtasks /query /fo csv /v</td><td>Success</td><td></td></tr>
<tr><td>Security event log</td><td>wevtutil epl Security</td><td>Success</td><td></td></tr>
<tr><td>Services</td><td>Get-CimInstance Win32_Service | Export-Csv</td><td>Success</td><td></td></tr>
<tr><td>SMB sessions</td><td>Get-SmbSession</td><td>Failed</td><td>0x80070005</td></tr>
<tr><td>System Information</td><td>systeminfo</td><td>Success</td><td></td></tr>
<tr><td>Temp Directories</td><td>dir %TEMP%</td><td>Success</td><td></td></tr>
<tr><td>Users and Groups</td><td>net localgroup</td><td>Success</td><td></td></tr>
<tr><td>WdSupportLogs</td><td>MpCmdRun.exe -GetFiles</td><td>Success</td><td></td></tr>
</table>
</body>
</html>
`

const installedPrograms = `"Name","Version","Vendor","InstallDate"
"Google Chrome","131.0.6778.86","Google LLC","20251203"
"Microsoft Teams","1.7.00.13456","Microsoft Corporation","20250911"
"VMware Tools","12.4.5.23787635","VMware, Inc.","20250114"
"7-Zip 24.08 (x64 edition)","24.08.00.0","Igor Pavlov","20251020"
`

const arp = `
Interface: 10.1.2.15 --- 0xc
  Internet Address      Physical Address      Type
  10.1.2.1              00-15-5d-01-02-01     dynamic
  10.1.2.255            ff-ff-ff-ff-ff-ff     static
  224.0.0.22            01-00-5e-00-00-16     static
`

const ipConfig = `
Windows IP Configuration

   Host Name . . . . . . . . . . . . : WS-0142
   Primary Dns Suffix  . . . . . . . : contoso.local

Ethernet adapter Ethernet0:

   IPv4 Address. . . . . . . . . . . : 10.1.2.15(Preferred)
   IPv6 Address. . . . . . . . . . . : 2001:db8:10::15(Preferred)
   Default Gateway . . . . . . . . . : 10.1.2.1
   DNS Servers . . . . . . . . . . . : 10.1.2.1
`

const prefetchList = `CHROME.EXE-5D9E1A8C.pf copied
CMD.EXE-0BD30981.pf copied
EXPLORER.EXE-D5E97654.pf copied
POWERSHELL.EXE-022A1004.pf copied
RUNDLL32.EXE-EF54CB1B.pf copied
UPDATER.EXE-1F2E3D4C.pf copied
SVCHOST.EXE-135A5A13.pf failed: The process cannot access the file because it is being used by another process.
`

const systemInfo = `
Host Name:                 WS-0142
OS Name:                   Microsoft Windows 11 Enterprise
OS Version:                10.0.22631 N/A Build 22631
Registered Owner:          Contoso IT
Domain:                    contoso.local
Network Card(s):           1 NIC(s) Installed.
                           [01]: vmxnet3 Ethernet Adapter
                                 IP address(es)
                                 [01]: 10.1.2.15
`

const tempAlice = ` Volume in drive C has no label.
 Directory of C:\Users\alice\AppData\Local\Temp

02/01/2026  08:01    <DIR>          .
02/01/2026  08:01    <DIR>          ..
02/01/2026  07:58           184,320 upd_4411.tmp
02/01/2026  08:00             2,048 ~DF3A1.tmp
               2 File(s)        186,368 bytes
`

const mpCmdRunLog = `-------------------------------------------------------------------------------------
MpCmdRun: Command Line: "C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe" -GetFiles
 Start Time: ‎Fri ‎Jan ‎02 ‎2026 03:04:05

MpCmdRun: End Time: ‎Fri ‎Jan ‎02 ‎2026 03:04:09
-------------------------------------------------------------------------------------
`
