package mde

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLiveResponsePath is the longest file path GetFile is asked for, in characters.
const MaxLiveResponsePath = 1024

// ValidateLiveResponsePath accepts the path of one file for live response
// GetFile, checked before anything is sent:
//   - valid UTF-8, 1 to MaxLiveResponsePath characters, no control characters;
//   - absolute: a Windows path with its drive (C:\dir\file, C:/dir/file also
//     accepted), in which <>"|?* are refused as Windows allows none of them in
//     names (":" is allowed for alternate data streams); or a POSIX path
//     starting with "/";
//   - UNC and device paths (\\server\share\file, \\?\C:\file, \\.\pipe) are
//     refused: GetFile is for a file on the device itself, and a UNC path
//     would make the device reach across the network with its own account;
//   - not a folder: a path ending in a separator (C:\, /tmp/) is refused.
//
// The error is an *Error of KindInvalidInput whose Message can be shown; it
// never repeats the path (it may hold characters unsafe to echo).
func ValidateLiveResponsePath(path string) error {
	switch n := utf8.RuneCountInString(path); {
	case strings.TrimSpace(path) == "":
		return invalidInput("The file path is empty: give an absolute path such as C:\\Windows\\Temp\\file.txt or /tmp/file.txt.")
	case !utf8.ValidString(path):
		return invalidInput("The file path is not valid UTF-8 text.")
	case n > MaxLiveResponsePath:
		return invalidInput("The file path is %d characters long; at most %d are accepted.", n, MaxLiveResponsePath)
	}
	if i := strings.IndexFunc(path, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(path[i:])
		return invalidInput("The file path contains a control character (%U at character %d); file paths cannot hold them.",
			r, utf8.RuneCountInString(path[:i])+1)
	}
	switch {
	case strings.HasPrefix(path, `\\`) || strings.HasPrefix(path, `\/`):
		return invalidInput("UNC and device paths (\\\\server\\share\\..., \\\\?\\...) are not accepted: give the file's path on the device itself, with its drive (C:\\...).")
	case isDrivePath(path):
		if i := strings.IndexAny(path[3:], `<>"|?*`); i >= 0 {
			return invalidInput("The Windows path contains %q, which Windows does not allow in file names (wildcards are not supported either).", path[3+i])
		}
		if strings.HasSuffix(path, `\`) || strings.HasSuffix(path, "/") {
			return invalidInput("The path ends with a separator, so it names a folder: GetFile fetches one file.")
		}
	case path[0] == '/':
		if strings.HasSuffix(path, "/") {
			return invalidInput("The path ends with a separator, so it names a folder: GetFile fetches one file.")
		}
	default:
		return invalidInput("The file path is not absolute: give a Windows path with its drive (C:\\Windows\\Temp\\file.txt) or a POSIX path starting with / (/tmp/file.txt).")
	}
	return nil
}

// isDrivePath reports whether p starts with a drive letter, a colon and a separator.
func isDrivePath(p string) bool {
	if len(p) < 3 {
		return false
	}
	letter := 'a' <= p[0] && p[0] <= 'z' || 'A' <= p[0] && p[0] <= 'Z'
	return letter && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
}
