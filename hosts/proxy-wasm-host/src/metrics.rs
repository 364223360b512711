//! proxy-wasm metrics as Envoy applies them (`source/extensions/common/wasm/context.cc`:
//! `defineMetric`, `incrementMetric`, `recordMetric`, `getMetric`): counters only go up
//! (a negative increment is `BadArgument`), gauges go both ways or are set, histograms
//! only record (and cannot be read back); an unknown id is `NotFound`. Defining the same
//! name and type again gives the same metric, as Envoy's stat scope does.

use super::abi::{MetricType, Status};

/// One metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// The name the module gave it.
    pub name: String,
    /// Its type.
    pub kind: MetricType,
    /// Counter or gauge value; a histogram's last recorded value.
    pub value: u64,
}

/// Every metric a VM defined, by id (the index).
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    defined: Vec<Metric>,
}

impl Metrics {
    /// `proxy_define_metric`: the id.
    pub fn define(&mut self, kind: MetricType, name: &str) -> u32 {
        let found = self
            .defined
            .iter()
            .position(|m| m.kind == kind && m.name == name);
        let index = found.unwrap_or_else(|| {
            self.defined.push(Metric {
                name: name.to_owned(),
                kind,
                value: 0,
            });
            self.defined.len() - 1
        });
        u32::try_from(index).unwrap_or(u32::MAX)
    }

    /// `proxy_increment_metric`.
    pub fn increment(&mut self, id: u32, offset: i64) -> Status {
        let Some(metric) = self.get_mut(id) else {
            return Status::NotFound;
        };
        match metric.kind {
            MetricType::Counter if offset > 0 => {
                metric.value = metric.value.saturating_add(offset.unsigned_abs());
            }
            MetricType::Gauge if offset >= 0 => {
                metric.value = metric.value.saturating_add(offset.unsigned_abs());
            }
            MetricType::Gauge => metric.value = metric.value.saturating_sub(offset.unsigned_abs()),
            MetricType::Counter | MetricType::Histogram => return Status::BadArgument,
        }
        Status::Ok
    }

    /// `proxy_record_metric`.
    pub fn record(&mut self, id: u32, value: u64) -> Status {
        let Some(metric) = self.get_mut(id) else {
            return Status::NotFound;
        };
        match metric.kind {
            MetricType::Counter => metric.value = metric.value.saturating_add(value),
            MetricType::Gauge | MetricType::Histogram => metric.value = value,
        }
        Status::Ok
    }

    /// `proxy_get_metric`.
    pub fn value(&self, id: u32) -> Result<u64, Status> {
        let metric = usize::try_from(id)
            .ok()
            .and_then(|i| self.defined.get(i))
            .ok_or(Status::NotFound)?;
        match metric.kind {
            MetricType::Histogram => Err(Status::BadArgument),
            MetricType::Counter | MetricType::Gauge => Ok(metric.value),
        }
    }

    /// Every metric, in the order defined.
    pub fn all(&self) -> &[Metric] {
        &self.defined
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut Metric> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.defined.get_mut(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_only_go_up_gauges_both_ways_histograms_are_write_only() {
        let mut m = Metrics::default();
        let c = m.define(MetricType::Counter, "e911.messages");
        assert_eq!(m.define(MetricType::Counter, "e911.messages"), c);
        let g = m.define(MetricType::Gauge, "e911.revision");
        let h = m.define(MetricType::Histogram, "e911.bytes");
        assert_eq!(m.increment(c, 2), Status::Ok);
        assert_eq!(m.increment(c, -1), Status::BadArgument);
        assert_eq!(m.value(c), Ok(2));
        assert_eq!(m.record(g, 7), Status::Ok);
        assert_eq!(m.increment(g, -3), Status::Ok);
        assert_eq!(m.value(g), Ok(4));
        assert_eq!(m.record(h, 9), Status::Ok);
        assert_eq!(m.value(h), Err(Status::BadArgument));
        assert_eq!(m.increment(99, 1), Status::NotFound);
        assert_eq!(m.value(99), Err(Status::NotFound));
    }
}
