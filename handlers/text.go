package handlers

import (
	"fmt"
	"strings"
)

// Text is what people read, as a run of typed parts. The use cases never
// write chat markup: a mention, a channel, a link or a code span is a part of
// its own kind, and the transport's renderer builds the markup for it while
// escaping every plain part. So untrusted text (a comment, a Defender field,
// a device name) can never ping a channel or fake a link, and what is stored
// or audited is Plain(): words without markup.
type Text []Part

// PartKind says what a Part is.
type PartKind int

const (
	// PartPlain is words shown as they are (escaped by the renderer).
	PartPlain PartKind = iota
	// PartCode is a literal (an ID, a command, a hash) shown as code.
	PartCode
	// PartUser mentions the user whose ID is Text.
	PartUser
	// PartGroup mentions the user group whose ID is Text.
	PartGroup
	// PartChannel links the channel whose ID is Text.
	PartChannel
	// PartLink is a link to URL labelled Text.
	PartLink
)

// Part is one piece of a Text.
type Part struct {
	Kind PartKind
	// Text is the words (plain, code, link label) or the ID (mentions).
	Text string
	// URL is a link's target.
	URL string
}

// Plain is words shown as they are.
func Plain(s string) Part { return Part{Kind: PartPlain, Text: s} }

// Code is a literal shown as code.
func Code(s string) Part { return Part{Kind: PartCode, Text: s} }

// User mentions a user by ID.
func User(id string) Part { return Part{Kind: PartUser, Text: id} }

// Group mentions a user group by ID.
func Group(id string) Part { return Part{Kind: PartGroup, Text: id} }

// Channel links a channel by ID.
func Channel(id string) Part { return Part{Kind: PartChannel, Text: id} }

// Link is a link to url labelled label.
func Link(url, label string) Part { return Part{Kind: PartLink, Text: label, URL: url} }

// Mention mentions a user or, for an ID starting with S, a user group.
func Mention(id string) Part {
	if strings.HasPrefix(id, "S") {
		return Group(id)
	}
	return User(id)
}

// T builds a Text from strings (plain words), Parts and Texts.
func T(items ...any) Text {
	var t Text
	for _, it := range items {
		switch v := it.(type) {
		case Part:
			t = append(t, v)
		case Text:
			t = append(t, v...)
		case string:
			if v != "" {
				t = append(t, Plain(v))
			}
		default:
			t = append(t, Plain(fmt.Sprint(v)))
		}
	}
	return t
}

// Tf is fmt.Sprintf for Texts: each verb whose argument is a Part or a Text
// takes that part (whatever the verb); every other verb is formatted as
// fmt.Sprintf would, as plain words.
func Tf(format string, args ...any) Text {
	var t Text
	var plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			t = append(t, Plain(plain.String()))
			plain.Reset()
		}
	}
	argi := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			plain.WriteByte(c)
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			plain.WriteByte('%')
			i++
			continue
		}
		// A verb: flags and width up to its letter.
		j := i + 1
		for j < len(format) && !isVerbLetter(format[j]) {
			j++
		}
		if j >= len(format) {
			plain.WriteString(format[i:])
			break
		}
		verb := format[i : j+1]
		i = j
		if argi >= len(args) {
			plain.WriteString("%!" + verb[len(verb)-1:] + "(MISSING)") // as fmt says it
			continue
		}
		arg := args[argi]
		argi++
		switch v := arg.(type) {
		case Part:
			flush()
			t = append(t, v)
		case Text:
			flush()
			t = append(t, v...)
		default:
			plain.WriteString(fmt.Sprintf(verb, v))
		}
	}
	flush()
	return t
}

func isVerbLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// Plain is t as words without markup, for what is stored, audited and
// logged: mentions become @ID or #ID, a link its label, code its text.
func (t Text) Plain() string {
	var b strings.Builder
	for _, p := range t {
		switch p.Kind {
		case PartUser, PartGroup:
			b.WriteString("@" + p.Text)
		case PartChannel:
			b.WriteString("#" + p.Text)
		default:
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// String is Plain.
func (t Text) String() string { return t.Plain() }

// IsEmpty reports whether t shows nothing.
func (t Text) IsEmpty() bool { return strings.TrimSpace(t.Plain()) == "" }

// Lines joins texts with line breaks, skipping empty ones.
func Lines(ts ...Text) Text {
	var out Text
	for _, t := range ts {
		if t.IsEmpty() {
			continue
		}
		if len(out) > 0 {
			out = append(out, Plain("\n"))
		}
		out = append(out, t...)
	}
	return out
}
