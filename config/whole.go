package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yaml.v3 decodes a number with a fraction into an int field by dropping
// the fraction: keep_monthly: 2.5 would keep 2 months, and days: 30.9 lock
// for 30, without a word. checkWholeNumbers walks the document beside the
// type it decodes into and refuses such a value, naming its key and line.
// (A number with nothing after the point, 12.0 or 1e3, is the number it
// says and is taken.)
func checkWholeNumbers(data []byte) error {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil // the decoder reports what is wrong
	}
	return wholeIn(doc.Content[0], reflect.TypeFor[Config](), "")
}

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

func wholeIn(n *yaml.Node, t reflect.Type, key string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return nil // its own decoder checks it
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!float" {
			return nil
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && f == math.Trunc(f) {
			return nil
		}
		return &Error{Key: key, Line: n.Line, Msg: fmt.Sprintf("wrong type: number %q where a whole number is expected", n.Value)}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			if n.Content[i].Tag == "!!merge" || (name == "<<" && n.Content[i].Style == 0) {
				// A merge key (<<: {keep_monthly: 2.5}, or an alias or a
				// list of them): its mappings' keys are this mapping's.
				m := n.Content[i+1]
				if m.Kind == yaml.AliasNode && m.Alias != nil {
					m = m.Alias
				}
				parts := []*yaml.Node{m}
				if m.Kind == yaml.SequenceNode {
					parts = m.Content
				}
				for _, part := range parts {
					if err := wholeIn(part, t, key); err != nil {
						return err
					}
				}
				continue
			}
			f, ok := fieldByTag(t, name)
			if !ok {
				continue
			}
			if err := wholeIn(n.Content[i+1], f.Type, join(key, name)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := wholeIn(c, t.Elem(), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := wholeIn(n.Content[i+1], t.Elem(), join(key, n.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

// fieldByTag finds the field a mapping key decodes into (inline structs
// included).
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if g, ok := fieldByTag(ft, name); ok {
					return g, true
				}
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		if tag == name && tag != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
