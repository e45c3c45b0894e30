package securekafka

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs is a throw-away PKI written as PEM files: a CA, a server
// certificate for 127.0.0.1/::1/localhost, a client certificate signed by
// the same CA, and a client certificate from an unrelated ("rogue") CA.
type Certs struct {
	// Dir is the directory holding the files below.
	Dir string
	// CA is ca.pem: the CA certificate that signed the server and client
	// certificates (the truststore of both sides).
	CA string
	// Server is server.pem: the server certificate chain followed by its
	// PKCS#8 private key, the layout of Kafka's ssl.keystore.type=PEM.
	Server string
	// Client is client.pem: the client certificate (CN "sportsconnect")
	// followed by its PKCS#8 private key; tls.LoadX509KeyPair(Client, Client)
	// reads it.
	Client string
	// RogueCA is rogue-ca.pem: the CA that signed RogueClient, trusted by
	// nobody.
	RogueCA string
	// RogueClient is rogue-client.pem: a client certificate and key signed
	// by RogueCA, for tests that must see a handshake refused.
	RogueClient string

	caCert     *x509.Certificate
	serverCert tls.Certificate
}

// ClientCommonName is the subject CN of the client certificate in
// Certs.Client.
const ClientCommonName = "sportsconnect"

// certValidity is how long every generated certificate is valid; NotBefore
// is an hour in the past so a skewed clock does not matter.
const certValidity = 24 * time.Hour

// GenerateCerts creates a fresh ECDSA P-256 PKI in dir (which must exist)
// and returns the paths of its PEM files.
func GenerateCerts(dir string) (*Certs, error) {
	ca, caKey, err := newCA("sportsconnect test CA")
	if err != nil {
		return nil, fmt.Errorf("generating the CA: %w", err)
	}
	rogueCA, rogueKey, err := newCA("rogue test CA")
	if err != nil {
		return nil, fmt.Errorf("generating the rogue CA: %w", err)
	}
	serverTmpl := leafTemplate("localhost", x509.ExtKeyUsageServerAuth)
	serverTmpl.DNSNames = []string{"localhost"}
	serverTmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback}
	serverPEM, serverKeyPEM, err := newLeaf(serverTmpl, ca, caKey)
	if err != nil {
		return nil, fmt.Errorf("generating the server certificate: %w", err)
	}
	clientPEM, clientKeyPEM, err := newLeaf(leafTemplate(ClientCommonName, x509.ExtKeyUsageClientAuth), ca, caKey)
	if err != nil {
		return nil, fmt.Errorf("generating the client certificate: %w", err)
	}
	roguePEM, rogueKeyPEM, err := newLeaf(leafTemplate(ClientCommonName, x509.ExtKeyUsageClientAuth), rogueCA, rogueKey)
	if err != nil {
		return nil, fmt.Errorf("generating the rogue client certificate: %w", err)
	}

	c := &Certs{
		Dir:         dir,
		CA:          filepath.Join(dir, "ca.pem"),
		Server:      filepath.Join(dir, "server.pem"),
		Client:      filepath.Join(dir, "client.pem"),
		RogueCA:     filepath.Join(dir, "rogue-ca.pem"),
		RogueClient: filepath.Join(dir, "rogue-client.pem"),
		caCert:      ca,
	}
	caPEM := encodeCert(ca.Raw)
	files := []struct {
		path string
		data [][]byte
	}{
		{c.CA, [][]byte{caPEM}},
		// The chain (leaf, then CA) and then the key: Kafka's PEM keystore.
		{c.Server, [][]byte{serverPEM, caPEM, serverKeyPEM}},
		{c.Client, [][]byte{clientPEM, clientKeyPEM}},
		{c.RogueCA, [][]byte{encodeCert(rogueCA.Raw)}},
		{c.RogueClient, [][]byte{roguePEM, rogueKeyPEM}},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, bytes.Join(f.data, nil), 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.path, err)
		}
	}
	c.serverCert, err = tls.X509KeyPair(bytes.Join([][]byte{serverPEM, caPEM}, nil), serverKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading the server key pair back: %w", err)
	}
	return c, nil
}

// CAPool returns a pool holding only the test CA.
func (c *Certs) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.caCert)
	return p
}

// ServerTLS returns a server configuration presenting the server
// certificate, for Go test servers (token endpoint, registry proxy) that
// clients reach with ca.pem as their only trusted root.
func (c *Certs) ServerTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{c.serverCert},
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientTLS returns a client configuration trusting only the test CA and,
// when certFile is not empty, presenting the certificate and key of that
// PEM file (Client or RogueClient).
func (c *Certs) ClientTLS(certFile string) (*tls.Config, error) {
	cfg := &tls.Config{RootCAs: c.CAPool(), MinVersion: tls.VersionTLS12}
	if certFile != "" {
		kp, err := tls.LoadX509KeyPair(certFile, certFile)
		if err != nil {
			return nil, fmt.Errorf("loading client key pair %s: %w", certFile, err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	return cfg, nil
}

// newCA returns a self-signed CA certificate and its key.
func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"sportsconnect tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signing: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing: %w", err)
	}
	return cert, key, nil
}

// leafTemplate returns an end-entity certificate template.
func leafTemplate(cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"sportsconnect tests"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(certValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
}

// newLeaf signs tmpl with the CA and returns the certificate and its
// PKCS#8 key, both PEM-encoded.
func newLeaf(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	if tmpl.SerialNumber, err = randSerial(); err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key as PKCS#8: %w", err)
	}
	return encodeCert(der), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func randSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("random serial number: %w", err)
	}
	return n, nil
}
