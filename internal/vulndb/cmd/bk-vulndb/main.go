// Command bk-vulndb builds govulncheck's offline database from the OSV
// files of the golang.org/x/vulndb module (see package vulndb and
// scripts/vuln.sh).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/brightkitchen/brightkitchen/internal/vulndb"
)

func main() {
	src := flag.String("src", "", "directory of OSV *.json files (the vulndb module's data/osv)")
	out := flag.String("out", "", "database directory to write (missing, empty, or an earlier database, replaced)")
	flag.Parse()
	if *src == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "bk-vulndb: -src and -out are required")
		os.Exit(2)
	}
	st, err := vulndb.Build(*src, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bk-vulndb:", err)
		os.Exit(1)
	}
	fmt.Printf("bk-vulndb: %d entries, %d modules in %s\n", st.Entries, st.Modules, *out)
}
