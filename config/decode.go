package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sizeKeys hold byte counts that also accept size strings like 1GiB.
var sizeKeys = map[string]bool{"mde.max_package_size": true, "triage.max_uncompressed": true}

// decoder turns viper's raw settings (typed values from YAML, strings from
// the environment) into Config, collecting one Problem per key that does not
// fit instead of stopping at the first.
type decoder struct {
	problems Problems
}

func (d *decoder) fail(key, format string, args ...any) {
	d.problems = append(d.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// decodeStruct fills dst (a struct) from src, whose keys are dst's
// mapstructure tags. Keys that dst does not have are reported: a typo such
// as "aproval" would otherwise silently drop a rule.
func (d *decoder) decodeStruct(dst reflect.Value, src map[string]any, path string) {
	t := dst.Type()
	known := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		known[tag] = true
		raw, ok := src[tag]
		if !ok || raw == nil {
			continue
		}
		d.decodeValue(dst.Field(i), raw, joinKey(path, tag))
	}
	var unknown []string
	for k := range src {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		d.fail(joinKey(path, k), "unknown key (allowed here: %s)", strings.Join(slices.Sorted(maps.Keys(known)), ", "))
	}
}

func (d *decoder) decodeValue(dst reflect.Value, raw any, key string) {
	t := dst.Type()
	switch {
	case t == durationType:
		if v, ok := d.duration(raw, key); ok {
			dst.SetInt(int64(v))
		}
	case isNested(t):
		m, ok := asMap(raw)
		if !ok {
			d.fail(key, "must be a mapping with the keys %s", strings.Join(keyPaths(t, "", false), ", "))
			return
		}
		d.decodeStruct(dst, m, key)
	case t.Kind() == reflect.Slice && isNested(t.Elem()):
		d.decodeStructList(dst, raw, key)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		if v, ok := d.stringList(raw, key); ok {
			dst.Set(reflect.ValueOf(v))
		}
	case t.Kind() == reflect.String:
		if v, ok := d.str(raw, key); ok {
			dst.SetString(v)
		}
	case t.Kind() == reflect.Bool:
		if v, ok := d.boolean(raw, key); ok {
			dst.SetBool(v)
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		if sizeKeys[key] {
			if v, ok := d.size(raw, key); ok {
				dst.SetInt(v)
			}
			return
		}
		if v, ok := d.integer(raw, key); ok {
			dst.SetInt(v)
		}
	default:
		// Reached only if Config gains a field of a new kind.
		d.fail(key, "cannot decode a %s (config package bug)", t)
	}
}

// decodeStructList decodes a list of mappings, or a JSON list in a string
// (how MDEBOT_POLICY_CHANNELS carries it).
func (d *decoder) decodeStructList(dst reflect.Value, raw any, key string) {
	if s, ok := raw.(string); ok {
		var parsed []any
		if err := json.Unmarshal([]byte(s), &parsed); err != nil {
			d.fail(key, "must be a JSON list of mappings: %v", err)
			return
		}
		raw = parsed
	}
	items, ok := raw.([]any)
	if !ok {
		d.fail(key, "must be a list of mappings")
		return
	}
	out := reflect.MakeSlice(dst.Type(), len(items), len(items))
	for i, item := range items {
		itemKey := fmt.Sprintf("%s[%d]", key, i)
		m, ok := asMap(item)
		if !ok {
			d.fail(itemKey, "must be a mapping with the keys %s", strings.Join(keyPaths(dst.Type().Elem(), "", false), ", "))
			continue
		}
		if key == "policy.channels" {
			m = channelDefaults(m)
		}
		d.decodeStruct(out.Index(i), m, itemKey)
	}
	dst.Set(out)
}

func (d *decoder) str(raw any, key string) (string, bool) {
	switch v := raw.(type) {
	case string:
		return v, true
	case bool, int, int64, uint64, float64:
		// An unquoted YAML scalar, e.g. a numeric-looking ID.
		return fmt.Sprint(v), true
	}
	d.fail(key, "must be a string, got %s", describe(raw))
	return "", false
}

// stringList accepts a YAML list or a comma-separated string (environment).
func (d *decoder) stringList(raw any, key string) ([]string, bool) {
	switch v := raw.(type) {
	case []string:
		return slices.Clone(v), true
	case string:
		var out []string
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, true
	case []any:
		out := make([]string, 0, len(v))
		for i, item := range v {
			s, ok := d.str(item, fmt.Sprintf("%s[%d]", key, i))
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	d.fail(key, "must be a list of strings (or a comma-separated string), got %s", describe(raw))
	return nil, false
}

func (d *decoder) boolean(raw any, key string) (bool, bool) {
	switch v := raw.(type) {
	case bool:
		return v, true
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b, true
		}
	}
	d.fail(key, "must be true or false, got %s", describe(raw))
	return false, false
}

func (d *decoder) integer(raw any, key string) (int64, bool) {
	if n, ok := toInt(raw); ok {
		return n, true
	}
	d.fail(key, "must be an integer, got %s", describe(raw))
	return 0, false
}

// toInt accepts integers from YAML, integral JSON numbers and decimal strings.
func toInt(raw any) (int64, bool) {
	switch v := raw.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case uint64:
		return int64(v), v <= math.MaxInt64
	case float64:
		return int64(v), v == math.Trunc(v) && math.Abs(v) < 1<<53
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (d *decoder) duration(raw any, key string) (time.Duration, bool) {
	switch v := raw.(type) {
	case time.Duration:
		return v, true
	case string:
		if dur, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
			return dur, true
		}
	}
	d.fail(key, "must be a Go duration such as 15s, 10m or 1h, got %s", describe(raw))
	return 0, false
}

func (d *decoder) size(raw any, key string) (int64, bool) {
	if s, ok := raw.(string); ok {
		n, err := ParseSize(s)
		if err != nil {
			d.fail(key, "%v", err)
			return 0, false
		}
		return n, true
	}
	if n, ok := toInt(raw); ok {
		return n, true
	}
	d.fail(key, "must be a size in bytes (1073741824) or with a unit (1GiB, 500MiB, 100MB), got %s", describe(raw))
	return 0, false
}

// describe names a raw value for a message. Strings are quoted (they are
// not secrets when they failed to parse as a number, duration or flag);
// lists and mappings are only named, never printed.
func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	case []any, []string:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return fmt.Sprintf("the number %v", v)
	}
	return fmt.Sprintf("a %T", raw)
}

// asMap accepts the mapping shapes YAML and JSON decoders produce.
func asMap(raw any) (map[string]any, bool) {
	switch v := raw.(type) {
	case map[string]any:
		return v, true
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, val := range v {
			out[strings.ToLower(fmt.Sprint(k))] = val
		}
		return out, true
	}
	return nil, false
}
