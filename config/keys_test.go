package config

import (
	"bufio"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The Config struct, config.yaml and docs/configuration.md name the same keys.
func TestKeysInSync(t *testing.T) {
	structKeys := keyPaths(reflect.TypeFor[Config](), "", true)
	yamlKeys := exampleKeys(t)
	docKeys := slices.Collect(func(yield func(string) bool) {
		for _, r := range docRows(t) {
			if !yield(r.key) {
				return
			}
		}
	})
	sources := []struct {
		name string
		keys []string
	}{
		{"the Config struct", structKeys},
		{"config.yaml", yamlKeys},
		{"docs/configuration.md", docKeys},
	}
	for _, a := range sources {
		for _, b := range sources {
			for _, k := range a.keys {
				if !slices.Contains(b.keys, k) {
					t.Errorf("key %s is in %s but missing from %s", k, a.name, b.name)
				}
			}
		}
	}
	if len(structKeys) < 30 {
		t.Errorf("only %d keys found in Config: the reflection walk is broken", len(structKeys))
	}
}

// docs/configuration.md names each key's variable and shows the defaults.
func TestDocsEnvAndDefaults(t *testing.T) {
	rows := map[string]docRow{}
	for _, r := range docRows(t) {
		rows[r.key] = r
		want := "`" + EnvVar(r.key) + "`"
		if strings.Contains(r.key, "[]") {
			want = "part of `MDEBOT_POLICY_CHANNELS`"
		}
		if !strings.HasPrefix(r.env, want) {
			t.Errorf("docs row %s: environment variable %q, want %s", r.key, r.env, want)
		}
	}
	defaults := reflect.ValueOf(Defaults()).Elem()
	for key := range defaultValues() {
		field := fieldByKey(t, defaults, key)
		cell := rows[key].def
		tokens := backticked(cell)
		ok := false
		switch v := field.Interface().(type) {
		case time.Duration:
			ok = slices.ContainsFunc(tokens, func(s string) bool { d, err := time.ParseDuration(s); return err == nil && d == v })
		case []string:
			ok = len(v) > 0
			for _, e := range v {
				ok = ok && slices.Contains(tokens, e)
			}
		default:
			if sizeKeys[key] {
				ok = slices.ContainsFunc(tokens, func(s string) bool { n, err := ParseSize(s); return err == nil && n == v })
			} else {
				ok = slices.Contains(tokens, fmt.Sprint(v))
			}
		}
		if !ok {
			t.Errorf("docs row %s: default cell %q does not show the default %v", key, cell, field.Interface())
		}
	}
}

// config.yaml shows each default as its value.
func TestExampleConfigShowsDefaults(t *testing.T) {
	c, err := Load("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, want := reflect.ValueOf(c).Elem(), reflect.ValueOf(Defaults()).Elem()
	for key := range defaultValues() {
		g, w := fieldByKey(t, got, key).Interface(), fieldByKey(t, want, key).Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("config.yaml %s = %v, default is %v", key, g, w)
		}
	}
}

func fieldByKey(t *testing.T, v reflect.Value, key string) reflect.Value {
	t.Helper()
next:
	for part := range strings.SplitSeq(key, ".") {
		for i := range v.NumField() {
			if v.Type().Field(i).Tag.Get("mapstructure") == part {
				v = v.Field(i)
				continue next
			}
		}
		t.Fatalf("no field for key %s", key)
	}
	return v
}

var backtickRE = regexp.MustCompile("`([^`]*)`")

func backticked(s string) []string {
	var out []string
	for _, m := range backtickRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// exampleKeys flattens config.yaml like keyPaths flattens Config: a list of
// mappings is one key plus its entries' keys under "key[]".
func exampleKeys(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	var keys []string
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			key := joinKey(prefix, k)
			switch v := v.(type) {
			case map[string]any:
				walk(v, key)
			case []any:
				keys = append(keys, key)
				for _, item := range v {
					if entry, ok := item.(map[string]any); ok {
						walk(entry, key+"[]")
					}
				}
			default:
				keys = append(keys, key)
			}
		}
	}
	walk(doc, "")
	slices.Sort(keys)
	return slices.Compact(keys)
}

type docRow struct{ key, def, meaning, env string }

// docRows reads the key table of docs/configuration.md.
func docRows(t *testing.T) []docRow {
	t.Helper()
	f, err := os.Open("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []docRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 4 {
			t.Fatalf("docs table row with %d cells, want 4: %s", len(cells), line)
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, docRow{key: strings.Trim(cells[0], "`"), def: cells[1], meaning: cells[2], env: cells[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no key table found in docs/configuration.md")
	}
	return rows
}
