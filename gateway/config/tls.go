package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLS reports whether any of ca_file, cert_file and key_file is set.
func (b Broker) TLS() bool { return b.CAFile != "" || b.CertFile != "" || b.KeyFile != "" }

// TLSConfig is the tls.Config the uplink dials a TLS broker URL with: the
// CA file's certificates as roots (the system's when unset) and the client
// certificate, if any. Nil when none of the three keys is set. Errors name
// the key.
func (b Broker) TLSConfig() (*tls.Config, error) {
	if !b.TLS() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.CAFile != "" {
		pem, err := readPEM(b.CAFile)
		if err != nil {
			return nil, &Error{Path: "broker.ca_file", Msg: err.Error()}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &Error{Path: "broker.ca_file", Msg: fmt.Sprintf("%s: no PEM certificate in it", b.CAFile)}
		}
		tc.RootCAs = pool
	}
	switch {
	case b.CertFile != "" && b.KeyFile == "":
		return nil, &Error{Path: "broker.key_file", Msg: "required with broker.cert_file"}
	case b.CertFile == "" && b.KeyFile != "":
		return nil, &Error{Path: "broker.cert_file", Msg: "required with broker.key_file"}
	case b.CertFile != "":
		certPEM, err := readPEM(b.CertFile)
		if err != nil {
			return nil, &Error{Path: "broker.cert_file", Msg: err.Error()}
		}
		keyPEM, err := readPEM(b.KeyFile)
		if err != nil {
			return nil, &Error{Path: "broker.key_file", Msg: err.Error()}
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, &Error{Path: "broker.cert_file", Msg: fmt.Sprintf("%s with key %s: %v", b.CertFile, b.KeyFile, err)}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// maxPEMBytes bounds a certificate or key file read at load.
const maxPEMBytes = 1 << 20

func readPEM(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > maxPEMBytes {
		return nil, fmt.Errorf("%s: %d bytes, limit %d", path, st.Size(), maxPEMBytes)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}
