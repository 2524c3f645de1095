package derive

import (
	"strings"
	"testing"
	"time"

	"github.com/envpipe/envpipe/alert/waterclass"
	"github.com/envpipe/envpipe/ingest"
)

func TestWaterQualityPerSample(t *testing.T) {
	for _, tc := range []struct {
		name      string
		waterbody string
		target    string
		vals      []ingest.Value
		class     int64
		worst     string
		exceeding string
		meets     bool
		items     map[string]int64 // <item>_class fields, exactly
	}{
		{
			name: "NH3-N decides; flagged TP ignored", waterbody: "river", target: "II",
			vals: []ingest.Value{nv("do", 7.0), nv("codmn", 3.0), nv("nh3n", 0.6), fv("tp", 0.3, ingest.FlagMaintenance),
				nv("water_temp", 18), nv("ph", 7.4)},
			class: 3, worst: "nh3n", exceeding: "nh3n", meets: false,
			items: map[string]int64{"ph_class": 1, "do_class": 2, "codmn_class": 2, "nh3n_class": 3},
		},
		{
			name: "meets Class II, limits inclusive, three worst items", waterbody: "river", target: "II",
			vals:  []ingest.Value{nv("do", 6.0), nv("nh3n", 0.5), nv("tp", 0.05), nv("codmn", 1.0)},
			class: 2, worst: "do+nh3n+tp", meets: true,
			items: map[string]int64{"do_class": 2, "nh3n_class": 2, "tp_class": 2, "codmn_class": 1},
		},
		{
			// TP 0.05: river Class II (≤ 0.1), lake Class III (II ≤ 0.025, III ≤ 0.05); TN only in lakes.
			name: "lake TP limits", waterbody: "lake", target: "III",
			vals:  []ingest.Value{nv("do", 8), nv("tp", 0.05), nv("tn", 0.4)},
			class: 3, worst: "tp", meets: true,
			items: map[string]int64{"do_class": 1, "tp_class": 3, "tn_class": 2},
		},
		{
			// 环办[2011]22号 (standards.md §1.3): a lake's total nitrogen is
			// reported with its class but does not decide the section's.
			name: "lake total nitrogen is a reference item", waterbody: "lake", target: "II",
			vals:  []ingest.Value{nv("do", 7), nv("codmn", 3), nv("nh3n", 0.3), nv("tp", 0.02), nv("tn", 1.8)},
			class: 2, worst: "codmn+do+nh3n+tp", meets: true,
			items: map[string]int64{"do_class": 2, "codmn_class": 2, "nh3n_class": 2, "tp_class": 2, "tn_class": 5},
		},
		{
			name: "worse than V", waterbody: "river", target: "III",
			vals:  []ingest.Value{nv("nh3n", 2.5)},
			class: 6, worst: "nh3n", exceeding: "nh3n", meets: false,
			items: map[string]int64{"nh3n_class": 6},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := waterStation("w", tc.target, tc.waterbody)
			r := newRig(t, DefaultConfig(), at(2026, 5, 1, 8, 0), st)
			ts := at(2026, 5, 1, 8, 0).Add(1234 * time.Millisecond)
			r.observe("w", ts, tc.vals...)
			p := r.s.must("water_quality", ts, "station", "w")
			if p.Tags["river"] != "湘江" || p.Tags["section"] != "枫溪 断面" || p.Tags["county"] != "Lusong" {
				t.Errorf("tags %v", p.Tags)
			}
			target, _ := waterclass.ParseClass(tc.target)
			if p.int(t, "class") != tc.class || p.int(t, "target_class") != int64(target) || p.bool(t, "meets_target") != tc.meets ||
				p.str(t, "worst") != tc.worst || p.str(t, "exceeding") != tc.exceeding {
				t.Errorf("fields %v", p.Fields)
			}
			n := 0
			for f := range p.Fields {
				if strings.HasSuffix(f, "_class") && f != "target_class" {
					n++
					if want, ok := tc.items[f]; !ok || p.int(t, f) != want {
						t.Errorf("%s = %s, want %d", f, p.Fields[f], want)
					}
				}
			}
			if n != len(tc.items) {
				t.Errorf("item fields %v, want %v", p.Fields, tc.items)
			}
		})
	}
}

func TestWaterSampleWithoutAssessableItemsHasNoPoint(t *testing.T) {
	st := waterStation("w", "II", "river")
	r := newRig(t, DefaultConfig(), at(2026, 5, 1, 8, 0), st)
	r.observe("w", at(2026, 5, 1, 8, 0), nv("water_temp", 18), nv("conductivity", 300), fv("nh3n", 3, ingest.FlagFault))
	if got := r.s.all("water_quality"); len(got) != 0 {
		t.Errorf("points %v", got)
	}
	if r.d.Stats().WaterPoints != 0 {
		t.Error("counted")
	}
}

// HJ 212 daily data (2031) classes a section that reports once a day; one
// sampled more often is classed by its samples alone.
func TestDailyWaterDataClassesADailySection(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		points   int
	}{{24 * time.Hour, 1}, {4 * time.Hour, 0}} {
		st := waterStation("w", "II", "river")
		st.Interval = tc.interval
		r := newRig(t, DefaultConfig(), at(2026, 5, 2, 10, 0), st)
		r.d.Observe(st, &ingest.Reading{Station: "w", Time: at(2026, 5, 1, 0, 0), Period: ingest.PeriodDay,
			Values: []ingest.Value{nv("nh3n", 0.6), nv("do", 7)}})
		r.settle()
		ps := r.s.all("water_quality")
		if len(ps) != tc.points {
			t.Fatalf("interval %v: %d water_quality points, want %d", tc.interval, len(ps), tc.points)
		}
		if tc.points == 1 && ps[0].int(t, "class") != 3 {
			t.Errorf("class %v, want 3 (NH3-N 0.6)", ps[0].Fields)
		}
	}
}
