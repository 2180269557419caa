package emulate

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ConfigFor is Config for another account and Region of this server: moto
// keeps each account's resources apart and picks the account of a request
// by its x-moto-account-id header.
func (m *Moto) ConfigFor(account, region string) aws.Config {
	cfg := m.Config()
	cfg.Region = region
	cfg.HTTPClient = &http.Client{Transport: accountHeader{account: account, next: http.DefaultTransport}}
	return cfg
}

// accountHeader adds moto's account header to every request.
type accountHeader struct {
	account string
	next    http.RoundTripper
}

func (a accountHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("x-moto-account-id", a.account)
	return a.next.RoundTrip(r)
}
