package config

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"

	"github.com/spf13/viper"
)

// Load reads the YAML file at path, then applies MDEBOT_* environment
// overrides and the defaults, and decodes the result. It does not validate:
// call Validate.
//
// A missing file is an error, except at DefaultPath (configuration from the
// environment alone) or when path is empty. Values that do not decode (a bad
// duration, a word where a number is due, an unknown key) come back as
// Problems, one per key.
func Load(path string) (*Config, error) {
	v, err := newViper(true)
	if err != nil {
		return nil, err
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml") // whatever the file's extension
		if err := v.ReadInConfig(); err != nil {
			if !errors.Is(err, fs.ErrNotExist) || path != DefaultPath {
				return nil, fmt.Errorf("read config file %s: %w", path, err)
			}
		}
	}
	return decode(v.AllSettings())
}

// Defaults returns the configuration holding only the defaults (no file, no
// environment): a starting point for demos and tests.
func Defaults() *Config {
	v, err := newViper(false)
	if err != nil {
		panic(err) // defaults are constants: a failure is a bug in this package
	}
	c, err := decode(v.AllSettings())
	if err != nil {
		panic(err)
	}
	return c
}

func newViper(withEnv bool) (*viper.Viper, error) {
	v := viper.New()
	for k, val := range defaultValues() {
		v.SetDefault(k, val)
	}
	if !withEnv {
		return v, nil
	}
	// Viper reads the environment only for keys it knows, so every key is
	// bound explicitly, including those without a default.
	for _, k := range keyPaths(reflect.TypeFor[Config](), "", false) {
		if err := v.BindEnv(k, EnvVar(k)); err != nil {
			return nil, fmt.Errorf("bind %s: %w", EnvVar(k), err)
		}
	}
	return v, nil
}

func decode(settings map[string]any) (*Config, error) {
	var c Config
	var d decoder
	d.decodeStruct(reflect.ValueOf(&c).Elem(), settings, "")
	if len(d.problems) > 0 {
		return nil, d.problems
	}
	return &c, nil
}
