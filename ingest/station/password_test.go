package station

import "testing"

// A station that speaks HJ 212 needs the password its frames carry: without
// one every frame would be refused as hj212_bad_password, so the file is
// refused when it is loaded, naming the station and the key.
func TestParseRequiresAPasswordWithAnMN(t *testing.T) {
	tests := []struct {
		name    string
		station string
		want    []string // what the errors must mention; nil when the file is fine
	}{
		{"MN and password", `{id: a, county: c, kind: air, lat: 1, lon: 1, hj212_mn: M1, hj212_password: "123456"}`, nil},
		{"neither", `{id: a, county: c, kind: air, lat: 1, lon: 1}`, nil},
		{"MN without password", `{id: a, county: c, kind: air, lat: 1, lon: 1, hj212_mn: M1}`,
			[]string{"stations[0].hj212_password", `station "a"`, "missing"}},
		{"MN with an empty password", `{id: zz-1, county: c, kind: air, lat: 1, lon: 1, hj212_mn: M1, hj212_password: ""}`,
			[]string{"stations[0].hj212_password", `station "zz-1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParseErrors(t, "stations:\n  - "+tt.station+"\n", tt.want)
		})
	}
}
