package mdetest

import (
	"fmt"
	"strings"
)

// A small OData $filter evaluator: what mdebot and the docs use, nothing more.
//
//	expr    = and { "or" and }
//	and     = primary { "and" primary }
//	primary = "(" expr ")" | field ("eq" | "ne") 'string' | "startswith(" field "," 'string' ")"
//
// String comparisons ignore case (host names do; unverified for the rest of Defender).

// predicate tests an entity through its field getter.
type predicate func(field func(string) string) bool

// parseFilter compiles a $filter over the allowed fields; empty matches all.
func parseFilter(src string, fields map[string]bool) (predicate, error) {
	pred, _, err := parseFilterUsing(src, fields)
	return pred, err
}

// parseFilterUsing is parseFilter that also names the properties the
// filter tests (so `id eq 'a' or id eq 'b'` uses only id).
func parseFilterUsing(src string, fields map[string]bool) (predicate, map[string]bool, error) {
	if strings.TrimSpace(src) == "" {
		return func(func(string) string) bool { return true }, nil, nil
	}
	toks, err := lex(src)
	if err != nil {
		return nil, nil, err
	}
	p := &filterParser{toks: toks, fields: fields, used: map[string]bool{}}
	pred, err := p.or()
	if err != nil {
		return nil, nil, err
	}
	if p.i < len(p.toks) {
		return nil, nil, fmt.Errorf("unexpected %q", p.toks[p.i].text)
	}
	return pred, p.used, nil
}

type tokKind int

const (
	tokIdent tokKind = iota
	tokString
	tokPunct // ( ) ,
)

type tok struct {
	kind tokKind
	text string
}

func lex(src string) ([]tok, error) {
	var out []tok
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, tok{tokPunct, string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(src) {
					return nil, fmt.Errorf("unterminated string literal")
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(src[i])
				i++
			}
			out = append(out, tok{tokString, b.String()})
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			out = append(out, tok{tokIdent, src[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return out, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type filterParser struct {
	toks   []tok
	i      int
	fields map[string]bool
	used   map[string]bool // properties the filter names
}

func (p *filterParser) peek(kind tokKind, text string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == kind && p.toks[p.i].text == text
}

func (p *filterParser) expect(kind tokKind, text string) error {
	if !p.peek(kind, text) {
		return fmt.Errorf("expected %q at token %d", text, p.i+1)
	}
	p.i++
	return nil
}

func (p *filterParser) or() (predicate, error) {
	left, err := p.and()
	for err == nil && p.peek(tokIdent, "or") {
		p.i++
		var right predicate
		if right, err = p.and(); err == nil {
			l := left
			left = func(f func(string) string) bool { return l(f) || right(f) }
		}
	}
	return left, err
}

func (p *filterParser) and() (predicate, error) {
	left, err := p.primary()
	for err == nil && p.peek(tokIdent, "and") {
		p.i++
		var right predicate
		if right, err = p.primary(); err == nil {
			l := left
			left = func(f func(string) string) bool { return l(f) && right(f) }
		}
	}
	return left, err
}

func (p *filterParser) primary() (predicate, error) {
	if p.peek(tokPunct, "(") {
		p.i++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		return e, p.expect(tokPunct, ")")
	}
	if p.peek(tokIdent, "startswith") {
		p.i++
		if err := p.expect(tokPunct, "("); err != nil {
			return nil, err
		}
		field, err := p.field()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokPunct, ","); err != nil {
			return nil, err
		}
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		lit = strings.ToLower(lit)
		return func(f func(string) string) bool {
			return strings.HasPrefix(strings.ToLower(f(field)), lit)
		}, p.expect(tokPunct, ")")
	}
	field, err := p.field()
	if err != nil {
		return nil, err
	}
	var negate bool
	switch {
	case p.peek(tokIdent, "eq"):
	case p.peek(tokIdent, "ne"):
		negate = true
	default:
		return nil, fmt.Errorf("expected eq or ne after %s", field)
	}
	p.i++
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	return func(f func(string) string) bool { return strings.EqualFold(f(field), lit) != negate }, nil
}

func (p *filterParser) field() (string, error) {
	if p.i >= len(p.toks) || p.toks[p.i].kind != tokIdent {
		return "", fmt.Errorf("expected a property name at token %d", p.i+1)
	}
	name := p.toks[p.i].text
	if !p.fields[name] {
		return "", fmt.Errorf("unsupported property %q", name)
	}
	p.used[name] = true
	p.i++
	return name, nil
}

func (p *filterParser) literal() (string, error) {
	if p.i >= len(p.toks) || p.toks[p.i].kind != tokString {
		return "", fmt.Errorf("expected a quoted string at token %d", p.i+1)
	}
	p.i++
	return p.toks[p.i-1].text, nil
}
