// Package triage reads a stored Defender investigation package (a zip,
// through io.ReaderAt, random access) and tells what is in it: a Summary of
// the facts an analyst looks at first, and a Search of its text files.
//
// The package is untrusted. Nothing is extracted: entries are read in
// memory, one at a time, streaming, and their names are only ever shown,
// never used as paths. Limits refuse packages that are too big, have too
// many entries or compress too well, counting the bytes actually
// decompressed, so memory stays flat whatever the package's size. Strings
// from the package are kept raw: whoever shows them escapes them.
//
// Nobody has pinned the package's formats (see the reference "What is
// inside the package"): text may be UTF-16LE with a BOM, UTF-8 with or
// without one, or Windows-1252; CSV columns are found by header name with
// the spellings real exports use. What cannot be read is reported as such,
// never guessed.
package triage

// Summary is what a package holds, as plain data for a renderer. Lists
// are sorted, so the same package always gives the same Summary.
type Summary struct {
	// Files and Bytes count the package's regular files and their size
	// uncompressed, as their headers declare it.
	Files int
	Bytes int64
	// Folders are the top-level folders (Name "" gathers the files at the
	// top level), sorted by name, at most MaxFolders; FoldersMore counts
	// the others.
	Folders     []Folder
	FoldersMore int
	// Failed are the collectors that failed, from CollectionSummaryReport.xls
	// (first) and from files that hold only an error text, sorted by From
	// then Collector, at most MaxFailures; FailedMore counts the others.
	Failed     []Failure
	FailedMore int
	// Report is CollectionSummaryReport.xls: read, missing, or why it
	// could not be read (a binary Excel workbook, say).
	Report Source
	// Network is read from the "Network connections" folder.
	Network Network
	// Processes is the Processes CSV.
	Processes Processes
	// Services is the Services CSV.
	Services Services
	// ScheduledTasks counts the distinct task names of the Scheduled tasks CSV.
	ScheduledTasks Count
	// Autoruns counts the registry values listed in the Autoruns folder
	// (reg query output), (Default) values without data left out.
	Autoruns Count
	// Administrators are the members of the local Administrators group, from
	// the "Users and Groups" folder.
	Administrators Members
	// Prefetch counts the .pf files in the "Prefetch files" folder.
	Prefetch Count
}

// Caps on the lists of a Summary. Strings from the package are cut to 256
// characters ("…" marks the cut).
const (
	MaxFolders     = 50
	MaxRemotes     = 20
	MaxOutside     = 10
	MaxMembers     = 50
	MaxFailures    = 50
	maxProblemList = 20
)

// Source tells which files of the package a fact was read from and which
// could not be read. With neither, the package has nothing for the fact.
type Source struct {
	// Read are the package entries the fact was read from, sorted, at
	// most 20; ReadMore counts the others.
	Read     []string
	ReadMore int
	// Problems say, one per entry or fault, what could not be read and
	// why ("Processes/Processes.csv: no column named Name, Image Name or
	// ProcessName"), sorted, at most 20.
	Problems []string
}

// Known reports whether at least one file was read for the fact: its
// figures mean something (they are complete when Problems is empty too).
func (s Source) Known() bool { return len(s.Read) > 0 }

// Missing reports whether the package has nothing for the fact.
func (s Source) Missing() bool { return len(s.Read) == 0 && len(s.Problems) == 0 }

// Folder is a top-level folder of the package.
type Folder struct {
	Name  string // "" for the files at the top level
	Files int
	Bytes int64 // uncompressed, as declared
}

// Failure is a collector that failed.
type Failure struct {
	// Collector names what failed: the report's data point, or the entry
	// that holds only an error text.
	Collector string
	// Detail is the report's status and error code, or the error text.
	Detail string
	// From is "CollectionSummaryReport.xls" or the entry's name.
	From string
}

// Network is what the package says about the device's network.
type Network struct {
	// Source is ActiveNetConnections.txt.
	Source
	// Established are the distinct remote addresses of ESTABLISHED TCP
	// connections, loopback left out, sorted (IPv4 then IPv6, numerically;
	// names last), at most MaxRemotes; EstablishedMore counts the others.
	Established     []Remote
	EstablishedMore int
	// Loopback counts the ESTABLISHED connections to a loopback address
	// (127.0.0.0/8, ::1, localhost): local, so not listed.
	Loopback int
	// Listening are the distinct local ports of LISTENING TCP sockets,
	// sorted numerically.
	Listening []string
	// DNS is DnsCache.txt.
	DNS DNSCache
}

// Remote is one remote address of established connections.
type Remote struct {
	// Address is the host part of the Foreign Address column as written
	// (an IPv6 address without its brackets, its zone kept).
	Address string
	// Ports are its distinct remote ports, sorted numerically.
	Ports []string
	// Connections counts the ESTABLISHED rows with it.
	Connections int
}

// DNSCache is the DNS client cache (ipconfig /displaydns).
type DNSCache struct {
	Source
	// Records counts the "Record Name" lines (one per cached record).
	Records int
}

// Processes is the running processes.
type Processes struct {
	Source
	// Count is the number of processes (rows with a name).
	Count int
	// Outside are the distinct executables outside the Windows and Program
	// Files folders, sorted, at most MaxOutside; OutsideMore counts the
	// others. OutsideProblem says why they could not be told (no path
	// column), "" when they could.
	Outside        []string
	OutsideMore    int
	OutsideProblem string
}

// Services is the installed services.
type Services struct {
	Source
	// Total counts the services, Running those whose state is Running.
	Total   int
	Running int
}

// Count is a number read from the package.
type Count struct {
	Source
	N int
}

// Members is the membership of a group.
type Members struct {
	Source
	// Names are the members as written, sorted, at most MaxMembers;
	// More counts the others.
	Names []string
	More  int
}
