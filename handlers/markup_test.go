package handlers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The use cases write no chat markup: mentions, channel links, links and
// code spans are typed parts (Text), rendered and escaped by the transport.
// This reads every string literal of the package's code.
func TestNoMarkupInUseCases(t *testing.T) {
	link := regexp.MustCompile(`<[a-z]+://[^>]*\|`)
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			checked++
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			for _, bad := range []string{"<@", "<!", "<#", "`"} {
				if strings.Contains(s, bad) && !strings.HasPrefix(lit.Value, "`") {
					t.Errorf("%s: string %s holds markup %q: use a typed part", fset.Position(lit.Pos()), lit.Value, bad)
				}
			}
			if link.MatchString(s) {
				t.Errorf("%s: string %s holds link markup: use Link", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	}
	if checked < 100 {
		t.Fatalf("only %d string literals checked: the scan is not reading the package", checked)
	}
}

func TestTf(t *testing.T) {
	tests := []struct {
		name string
		got  Text
		want Text
	}{
		{"plain verbs", Tf("%d of %s, %q", 2, "x", "y"), Text{Plain(`2 of x, "y"`)}},
		{"parts keep their kind", Tf("by %s at %s.", User("U1"), Code("abc")), Text{Plain("by "), User("U1"), Plain(" at "), Code("abc"), Plain(".")}},
		{"a Text is spliced", Tf("[%s]", T("a", Code("b"))), Text{Plain("["), Plain("a"), Code("b"), Plain("]")}},
		{"percent sign", Tf("100%% of %s", Group("S1")), Text{Plain("100% of "), Group("S1")}},
		{"missing argument", Tf("a %s b"), Text{Plain("a %!s(MISSING) b")}},
		{"width", Tf("%5d|%-3s|", 42, "x"), Text{Plain("   42|x  |")}},
		{"untrusted stays plain", Tf("comment: %s", "<!channel>"), Text{Plain("comment: <!channel>")}},
	}
	for _, tt := range tests {
		if len(tt.got) != len(tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, tt.got, tt.want)
			continue
		}
		for i := range tt.got {
			if tt.got[i] != tt.want[i] {
				t.Errorf("%s: part %d %+v, want %+v", tt.name, i, tt.got[i], tt.want[i])
			}
		}
	}
}

func TestTextPlain(t *testing.T) {
	got := T("Denied by ", User("U1"), " in ", Channel("C1"), " for ", Group("S1"), ": ", Code("x"), " ", Link("https://h/p?token=secret", "download")).Plain()
	if want := "Denied by @U1 in #C1 for @S1: x download"; got != want {
		t.Errorf("Plain() = %q, want %q (no markup, no URL)", got, want)
	}
	if !T(" ", "").IsEmpty() || T(Code("x")).IsEmpty() {
		t.Error("IsEmpty wrong")
	}
	if got := Lines(T("a"), nil, T("b")).Plain(); got != "a\nb" {
		t.Errorf("Lines = %q", got)
	}
}
