//! Facts keyed by the rows they come from, so an incremental night replaces the facts of the
//! touched orders and merges the dictionaries, instead of rebuilding them all.

use super::*;

/// `old` ∪ `new` sorted, and where each entry of `old` and of `new` went.
fn merge_dict(old: &[String], new: &[String]) -> (Vec<String>, Vec<u32>, Vec<u32>) {
    let mut all: Vec<String> = old.iter().chain(new).cloned().collect();
    all.sort();
    all.dedup();
    let at = |v: &[String]| -> Vec<u32> {
        v.iter()
            .map(|x| all.binary_search(x).expect("merged") as u32)
            .collect()
    };
    let (a, b) = (at(old), at(new));
    (all, a, b)
}

fn remap(code: u32, map: &[u32]) -> u32 {
    if code == NONE {
        NONE
    } else {
        map[code as usize]
    }
}

impl KeyedFacts {
    /// Replaces the facts of the charges whose key `replaced` accepts (whole orders: see the
    /// type) by `sub`, built from every charge and order record of the same components; then
    /// the newest attempt and every order's `immature` flag are those of the whole.
    /// Dictionaries are merged (an entry no attempt uses any more stays, unseen by any table).
    /// Orders and attempts are kept in no particular order; `order` indices are renumbered,
    /// `record` indices are those of the build that made each attempt.
    pub fn replace(
        &mut self,
        replaced: &(dyn Fn(u64) -> bool + Sync),
        sub: KeyedFacts,
        options: &FactOptions,
    ) {
        let KeyedFacts {
            facts: sub,
            attempt_keys: sub_akeys,
            order_keys: sub_okeys,
        } = sub;
        let f = &mut self.facts;
        let (countries, c_old, c_new) = merge_dict(&f.countries, &sub.countries);
        let (devices, d_old, d_new) = merge_dict(&f.devices, &sub.devices);
        let (reasons, r_old, r_new) = merge_dict(&f.reasons, &sub.reasons);
        let mut reason_classes = vec![DeclineClass::Unknown; reasons.len()];
        for (i, &to) in r_old.iter().enumerate() {
            reason_classes[to as usize] = f.reason_classes[i];
        }
        for (i, &to) in r_new.iter().enumerate() {
            reason_classes[to as usize] = sub.reason_classes[i];
        }
        // Kept orders, renumbered.
        let kept_orders: Vec<bool> = self.order_keys.par_iter().map(|&k| !replaced(k)).collect();
        let mut new_index = vec![NONE; kept_orders.len()];
        let mut n = 0u32;
        for (i, &k) in kept_orders.iter().enumerate() {
            if k {
                new_index[i] = n;
                n += 1;
            }
        }
        // The common case: no new country, device or reason, the kept codes stand.
        let same = |m: &[u32]| m.iter().enumerate().all(|(i, &x)| x as usize == i);
        let keep_codes = same(&c_old) && same(&d_old) && same(&r_old);
        let recode_attempt = |a: &mut AttemptFact, cm: &[u32], dm: &[u32], rm: &[u32]| {
            a.country = remap(a.country, cm);
            a.device = remap(a.device, dm);
            a.reason = remap(a.reason, rm);
        };
        let recode_order = |o: &mut OrderFact, cm: &[u32], dm: &[u32], rm: &[u32]| {
            o.country = remap(o.country, cm);
            o.device = remap(o.device, dm);
            o.first_decline_reason = remap(o.first_decline_reason, rm);
        };
        // Kept in place (no fresh half-gigabyte copy): which to keep is decided in parallel,
        // the compaction is a sequential pass over memory.
        let mut attempts = std::mem::take(&mut f.attempts);
        let mut akeys = std::mem::take(&mut self.attempt_keys);
        let kept_attempts: Vec<bool> = akeys.par_iter().map(|&k| !replaced(k)).collect();
        let mut w = 0;
        for r in 0..attempts.len() {
            if kept_attempts[r] {
                let mut a = attempts[r];
                if !keep_codes {
                    recode_attempt(&mut a, &c_old, &d_old, &r_old);
                }
                a.order = remap(a.order, &new_index);
                attempts[w] = a;
                akeys[w] = akeys[r];
                w += 1;
            }
        }
        attempts.truncate(w);
        akeys.truncate(w);
        let mut orders = std::mem::take(&mut f.orders);
        let mut okeys = std::mem::take(&mut self.order_keys);
        let mut w = 0;
        for r in 0..orders.len() {
            if kept_orders[r] {
                let mut o = orders[r];
                if !keep_codes {
                    recode_order(&mut o, &c_old, &d_old, &r_old);
                }
                orders[w] = o;
                okeys[w] = okeys[r];
                w += 1;
            }
        }
        orders.truncate(w);
        okeys.truncate(w);
        attempts.reserve_exact(sub.attempts.len());
        akeys.reserve_exact(sub_akeys.len());
        orders.reserve_exact(sub.orders.len());
        okeys.reserve_exact(sub_okeys.len());
        let offset = orders.len() as u32;
        attempts.extend(sub.attempts.into_iter().map(|mut a| {
            recode_attempt(&mut a, &c_new, &d_new, &r_new);
            a.order = if a.order == NONE {
                NONE
            } else {
                a.order + offset
            };
            a
        }));
        akeys.extend(sub_akeys);
        orders.extend(sub.orders.into_iter().map(|mut o| {
            recode_order(&mut o, &c_new, &d_new, &r_new);
            o
        }));
        okeys.extend(sub_okeys);
        let newest_ts = attempts.par_iter().map(|a| a.ts).max();
        let mature_before = newest_ts
            .map(|t| t - options.retry_window_hours as i64 * 3_600_000_000)
            .unwrap_or(i64::MAX);
        orders
            .par_iter_mut()
            .for_each(|o| o.immature = o.first_ts > mature_before);
        *f = Facts {
            attempts,
            orders,
            countries,
            devices,
            bands: std::mem::take(&mut f.bands),
            reasons,
            reason_classes,
            newest_ts,
            newest_day: newest_ts.map(|t| LocalDays::new(options.tz).day(t)),
        };
        self.attempt_keys = akeys;
        self.order_keys = okeys;
    }
}
