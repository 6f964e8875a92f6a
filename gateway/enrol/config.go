package enrol

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	yaml "go.yaml.in/yaml/v3"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/internal/atomicfile"
)

// CAFileName is the file, beside the config, that WriteConfig writes the
// fleet's CA to (broker.ca_file names it, relative to the config).
const CAFileName = "fleet-ca.pem"

// template is the config WriteConfig starts from when there is none: the
// keys enrolment sets, and the defaults of the rest (gateway/config's
// example.yaml explains every key). Cameras are added on the setup page
// or here.
const template = `# bk-gateway configuration, written by "bk-gateway enrol".
# Every key and its default: gateway/config/example.yaml in the sources,
# or /usr/share/doc/bk-gateway/example.yaml where the package installs it.
# Check it with: bk-gateway check --config <this file>

gateway:
  # This gateway's id at the fleet, given at enrolment.
  id: ""

broker:
  # The fleet's MQTT broker and this gateway's credentials, given at
  # enrolment.
  url: ""
  username: ""
  password: ""

# The cameras this gateway reads; add them on the setup page or here.
cameras: []
`

// tlsSchemes are the broker URL schemes that use TLS.
var tlsSchemes = []string{"ssl", "tls", "mqtts", "wss"}

// edit returns doc (a config file's bytes, "" for none) with the keys
// enrolment sets replaced by r's; caFile is broker.ca_file's new value
// ("" leaves it, unless the URL is not TLS, when it is cleared: a CA file
// with a plain URL is a config error).
func edit(doc []byte, r Result, caFile string) ([]byte, error) {
	if len(doc) > config.MaxFileBytes {
		return nil, fmt.Errorf("%d bytes, limit %d", len(doc), config.MaxFileBytes)
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		doc = []byte(template)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping of keys (gateway:, broker:, …)")
	}
	top := root.Content[0]
	gw, err := section(top, "gateway")
	if err != nil {
		return nil, err
	}
	br, err := section(top, "broker")
	if err != nil {
		return nil, err
	}
	brokerURL := r.BrokerURLs[0]
	set(gw, "id", r.GatewayID)
	set(br, "url", brokerURL)
	set(br, "username", r.Username)
	set(br, "password", r.Password)
	u, err := url.Parse(brokerURL)
	switch {
	case err != nil || !slices.Contains(tlsSchemes, u.Scheme):
		if has(br, "ca_file") {
			set(br, "ca_file", "")
		}
	case caFile != "":
		set(br, "ca_file", caFile)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// section returns the mapping under key in m, adding it if absent (a
// key with no value becomes an empty mapping).
func section(m *yaml.Node, key string) (*yaml.Node, error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		switch {
		case v.Kind == yaml.MappingNode:
			return v, nil
		case v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == ""):
			*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			return v, nil
		}
		return nil, fmt.Errorf("%s: a mapping of keys, not %s", key, v.ShortTag())
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v, nil
}

func has(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// set sets key in mapping m to the string value, keeping the key's
// comments.
func set(m *yaml.Node, key, value string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: yaml.DoubleQuotedStyle,
				LineComment: v.LineComment, HeadComment: v.HeadComment, FootComment: v.FootComment}
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: yaml.DoubleQuotedStyle})
}

// readConfig reads the config at path; nil, nil if there is none.
func readConfig(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// placeholder is the answer CheckConfig tries the file with.
var placeholder = Result{GatewayID: "enrol-check", Username: "enrol-check", Password: "enrol-check",
	BrokerURLs: []string{"tcp://127.0.0.1:1883"}}

// CheckConfig says, before a code is spent, whether WriteConfig can write
// the config at path and whether the result will pass `bk-gateway check`
// (with placeholder credentials): the file (if any) is YAML that it can
// edit, its other keys are valid, and its directory is writable. An
// absent file is fine: WriteConfig makes one.
func CheckConfig(path string) error {
	doc, err := readConfig(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	out, err := edit(doc, placeholder, "")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".enrol-check-*.yaml")
	if err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(out)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	if _, err := config.Load(f.Name()); err != nil {
		return fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	return nil
}

// WriteConfig writes r into the config at path: the gateway's id, the
// broker's first URL, the credentials and, with a TLS URL and a CA in r,
// broker.ca_file (the CA written to CAFileName beside the config). An
// absent file is made from a template; an existing one keeps its other
// keys and comments. The file is replaced atomically with mode 0600.
// It does not validate: `bk-gateway check` (config.Load) does.
func WriteConfig(path string, r Result) error {
	if len(r.BrokerURLs) == 0 {
		return errors.New("write config: no broker URL")
	}
	doc, err := readConfig(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("config directory: %w", err)
	}
	caFile := ""
	if r.CAPEM != "" {
		caFile = CAFileName
		if err := atomicfile.Write(filepath.Join(filepath.Dir(path), CAFileName), []byte(r.CAPEM), 0o644, nil); err != nil {
			return fmt.Errorf("write the fleet's CA: %w", err)
		}
	}
	out, err := edit(doc, r, caFile)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := atomicfile.Write(path, out, 0o600, nil); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
