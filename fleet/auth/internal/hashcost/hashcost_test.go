package hashcost

import "testing"

func TestDefault(t *testing.T) {
	if got := Get(); got != OWASP || got != (Cost{Memory: 19456, Time: 2}) {
		t.Fatalf("Get() = %+v before any Set; want OWASP's 19 MiB and 2 passes", got)
	}
	Set(Cost{Memory: 64, Time: 1})
	if got := Get(); got != (Cost{Memory: 64, Time: 1}) {
		t.Fatalf("Get() = %+v after Set", got)
	}
}
