package config

import (
	"reflect"
	"strings"
	"time"
)

var durationType = reflect.TypeFor[time.Duration]()

// keyPaths lists the dotted key of every leaf of t (a struct), in field order.
// A slice of structs (policy.channels) is one leaf; withElems also lists its
// element keys as "policy.channels[].match" and so on.
func keyPaths(t reflect.Type, prefix string, withElems bool) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := joinKey(prefix, tag)
		switch {
		case isNested(f.Type):
			keys = append(keys, keyPaths(f.Type, key, withElems)...)
		case f.Type.Kind() == reflect.Slice && isNested(f.Type.Elem()):
			keys = append(keys, key)
			if withElems {
				keys = append(keys, keyPaths(f.Type.Elem(), key+"[]", true)...)
			}
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

// isNested reports whether t is decoded from a mapping of sub-keys.
func isNested(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t != durationType
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// EnvVar is the environment variable that overrides key:
// MDEBOT_ + the key path upper-cased with dots turned into underscores.
func EnvVar(key string) string {
	return "MDEBOT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
