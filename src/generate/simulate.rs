//! One order's story, simulated when it is created: attempts, declines and retries,
//! captures, refunds, chargebacks and settlement postings, buffered by the day they surface.

use super::*;

impl Gen {
    pub(super) fn simulate_order(&mut self, idx: u64, created: i64) {
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ idx.wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        let country = pick(&mut rng, COUNTRIES, |c| c.weight);
        let device = pick(&mut rng, DEVICES, |d| d.1);
        let currency = country.currency;
        let (per_usd, fee_rate, fixed_fee) = currency_params(currency);
        let exp = 10f64.powi(currency.exponent() as i32);
        let usd: f64 = LogNormal::new(4.0, 0.85).expect("valid").sample(&mut rng);
        let usd = usd.clamp(1.0, 5000.0);
        let total = ((usd * per_usd * exp).round() as i64).max(exp as i64);
        let major_usd = usd;
        let band_logit = BAND_LOGIT
            .iter()
            .rev()
            .find(|(edge, _)| major_usd >= *edge)
            .map(|b| b.1)
            .unwrap_or(0.0);
        let order_id = format!("ORD-{:08}", idx + 1);
        let permission = format!(
            "P01-{:07}-{:07}",
            1_000_000 + idx % 9_000_000,
            rng.random_range(0..10_000_000u64)
        );
        let no_merchant_ref = rng.random_bool(0.03);
        let oms_has_permission = no_merchant_ref || rng.random_bool(0.7);
        let base = 2.1 + country.logit + device.2 + band_logit;

        let mut t = created + rng.random_range(20..600);
        let mut attempts = 0u32;
        let mut approved_charge: Option<(String, i64)> = None; // (id, auth time)
        let mut first_reason: Option<(&'static str, f64)> = None;
        while attempts < 4 {
            attempts += 1;
            self.summary.attempts += 1;
            let charge_id = format!("{permission}-C{:06}", rng.random_range(0..1_000_000u32));
            let seller_ref = format!("{order_id}-{attempts}");
            let bonus = match first_reason {
                Some((_, _)) if attempts > 1 => 0.3,
                _ => 0.0,
            };
            let approved = rng.random_bool(logistic(base + bonus));
            let mut states: Vec<(i64, &'static str, Option<&'static str>, Option<i64>)> =
                Vec::new();
            let mut decided = t;
            if rng.random_bool(0.03) {
                states.push((t, "AuthorizationInitiated", None, None));
                decided = t + rng.random_range(HOUR / 2..20 * HOUR);
            }
            if approved {
                states.push((decided, "Authorized", None, None));
                approved_charge = Some((charge_id.clone(), decided));
                let ch = ChargeCtx {
                    charge_id: charge_id.clone(),
                    permission: permission.clone(),
                    merchant_ref: (!no_merchant_ref).then(|| order_id.clone()),
                    created: t,
                    amount: total,
                    currency,
                    seller_ref,
                    order_id: order_id.clone(),
                };
                self.approved_path(
                    &mut rng,
                    ch,
                    states,
                    decided,
                    fee_rate,
                    fixed_fee,
                    country.code,
                    device.0,
                    oms_has_permission,
                    created,
                );
                break;
            }
            let (code, _, retry_p) = *pick(&mut rng, &self.declines, |d| d.1);
            // Messy exports: a decline without a reason code, or with one the catalogue lacks.
            let reason = match (self.opts.messy, rng.random::<f64>()) {
                (true, x) if x < 0.02 => None,
                (true, x) if x < 0.03 => Some("IssuerUnavailable"),
                _ => Some(code),
            };
            states.push((decided, "Declined", reason, None));
            self.emit_charge_versions(
                &ChargeCtx {
                    charge_id,
                    permission: permission.clone(),
                    merchant_ref: (!no_merchant_ref).then(|| order_id.clone()),
                    created: t,
                    amount: total,
                    currency,
                    seller_ref,
                    order_id: order_id.clone(),
                },
                &states,
                &[],
            );
            if first_reason.is_none() {
                first_reason = Some((code, retry_p));
            }
            if !rng.random_bool(retry_p * if attempts > 1 { 0.6 } else { 1.0 }) {
                break;
            }
            t = decided
                + if rng.random_bool(0.6) {
                    rng.random_range(60..1800)
                } else {
                    rng.random_range(HOUR..36 * HOUR)
                };
        }
        if approved_charge.is_none() {
            // Never paid: the OMS cancels the order.
            let order = OrderRow {
                id: order_id,
                created,
                country: country.code,
                device: device.0,
                currency,
                total,
                status: "cancelled",
                permission: oms_has_permission.then_some(permission),
            };
            self.buf(day_of(created)).orders.push(order);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn approved_path(
        &mut self,
        rng: &mut ChaCha8Rng,
        ch: ChargeCtx,
        mut states: Vec<(i64, &'static str, Option<&'static str>, Option<i64>)>,
        auth: i64,
        fee_rate: f64,
        fixed_fee: i64,
        country: &'static str,
        device: &'static str,
        oms_has_permission: bool,
        created: i64,
    ) {
        let mut order = OrderRow {
            id: ch.order_id.clone(),
            created,
            country,
            device,
            currency: ch.currency,
            total: ch.amount,
            status: "placed",
            permission: oms_has_permission.then(|| ch.permission.clone()),
        };
        let roll: f64 = rng.random();
        let mut refund_events: Vec<(i64, i64)> = Vec::new(); // (refund completion time, refunded total)
        if roll < 0.015 {
            // The merchant cancels before shipping.
            let t = auth + rng.random_range(HOUR..48 * HOUR);
            states.push((t, "Canceled", Some("MerchantCanceled"), None));
            self.buf(day_of(created)).orders.push(order.clone());
            order.status = "cancelled";
            self.buf(day_of(t)).orders.push(order);
        } else if roll < 0.02 {
            // Authorized, never captured: expires after 30 days.
            let t = auth + 30 * DAY;
            states.push((t, "Canceled", Some("ExpiredUnused"), None));
            self.buf(day_of(created)).orders.push(order);
        } else {
            let capture_at = if rng.random_bool(0.4) {
                auth + rng.random_range(1..30)
            } else if rng.random_bool(0.01) {
                // Captured more than 7 days after authorization: asynchronous.
                let init = auth + 8 * DAY + rng.random_range(0..DAY);
                states.push((init, "CaptureInitiated", None, None));
                init + rng.random_range(HOUR..6 * HOUR)
            } else {
                auth + rng.random_range(HOUR..60 * HOUR)
            };
            states.push((capture_at, "Captured", None, Some(ch.amount)));
            self.buf(day_of(created)).orders.push(order.clone());
            order.status = "shipped";
            self.buf(day_of(capture_at)).orders.push(order.clone());
            let posted = capture_at + rng.random_range(2 * HOUR..30 * HOUR);
            let pct = -((ch.amount as f64 * fee_rate).round() as i64);
            self.push_line(
                day_of(posted),
                ch.currency,
                Line {
                    posted,
                    txn_id: Some(ch.charge_id.clone()),
                    seller_ref: Some(ch.seller_ref.clone()),
                    ttype: "Capture",
                    order_ref: Some(ch.permission.clone()),
                    seller_order: Some(ch.order_id.clone()),
                    description: "",
                    amount: ch.amount,
                    pct_fee: pct,
                    fixed_fee: -fixed_fee,
                },
            );
            // Returns: a refund request, completed (or declined) some hours later.
            if rng.random_bool(0.06) {
                let requested = capture_at + rng.random_range(2 * DAY..15 * DAY);
                let full = rng.random_bool(0.7);
                let amount = if full {
                    ch.amount
                } else {
                    (ch.amount as f64 * rng.random_range(0.2..0.8))
                        .round()
                        .max(1.0) as i64
                };
                let refund_id = format!(
                    "{}-R{:06}",
                    ch.permission,
                    rng.random_range(0..1_000_000u32)
                );
                let done = requested + rng.random_range(HOUR..24 * HOUR);
                let declined = rng.random_bool(0.02);
                let mut versions = vec![(requested, "RefundInitiated", None)];
                versions.push((
                    done,
                    if declined { "Declined" } else { "Refunded" },
                    if declined {
                        Some("ProcessingFailure")
                    } else {
                        None
                    },
                ));
                let mut last_day = None;
                for (i, (ts, state, reason)) in versions.iter().enumerate() {
                    let d = day_of(*ts);
                    let row = RefundRow {
                        id: refund_id.clone(),
                        charge_id: ch.charge_id.clone(),
                        created: requested,
                        updated: *ts,
                        state,
                        reason: *reason,
                        amount,
                        currency: ch.currency,
                    };
                    let buf = &mut self.buf(d).refunds;
                    if last_day == Some(d) && i > 0 {
                        buf.pop();
                    }
                    buf.push(row);
                    last_day = Some(d);
                }
                if !declined {
                    refund_events.push((done, amount));
                    order.status = "returned";
                    self.buf(day_of(done)).orders.push(order.clone());
                    let posted = done + rng.random_range(2 * HOUR..30 * HOUR);
                    let pct_back = ((amount as f64 * fee_rate).round() as i64).min(-pct);
                    self.push_line(
                        day_of(posted),
                        ch.currency,
                        Line {
                            posted,
                            txn_id: Some(refund_id),
                            seller_ref: Some(format!("{}-refund", ch.order_id)),
                            ttype: "Refund",
                            order_ref: Some(ch.permission.clone()),
                            seller_order: Some(ch.order_id.clone()),
                            description: "",
                            amount: -amount,
                            pct_fee: pct_back,
                            fixed_fee: 0,
                        },
                    );
                }
            } else if rng.random_bool(0.004) {
                // A chargeback, with the chargeback fee.
                let at = capture_at + rng.random_range(10 * DAY..25 * DAY);
                let (_, _, cb_fee) = currency_params(ch.currency);
                self.push_line(
                    day_of(at),
                    ch.currency,
                    Line {
                        posted: at,
                        txn_id: Some(ch.charge_id.clone()),
                        seller_ref: None,
                        ttype: "Chargeback",
                        order_ref: Some(ch.permission.clone()),
                        seller_order: Some(ch.order_id.clone()),
                        description: "Chargeback",
                        amount: -ch.amount,
                        pct_fee: 0,
                        fixed_fee: -cb_fee * 50,
                    },
                );
            } else if rng.random_bool(0.002) {
                let at = capture_at + rng.random_range(7 * DAY..20 * DAY);
                self.push_line(
                    day_of(at),
                    ch.currency,
                    Line {
                        posted: at,
                        txn_id: Some(ch.charge_id.clone()),
                        seller_ref: None,
                        ttype: "A-to-z Guarantee Claim",
                        order_ref: Some(ch.permission.clone()),
                        seller_order: Some(ch.order_id.clone()),
                        description: "A-to-z Guarantee claim",
                        amount: -(ch.amount / 2).max(1),
                        pct_fee: 0,
                        fixed_fee: 0,
                    },
                );
            }
        }
        self.emit_charge_versions(&ch, &states, &refund_events);
    }

    /// Writes one charge row per day on which the charge changed (its last state that day);
    /// a completed refund re-exports the charge with its new `RefundedAmount`.
    fn emit_charge_versions(
        &mut self,
        ch: &ChargeCtx,
        states: &[(i64, &'static str, Option<&'static str>, Option<i64>)],
        refunds: &[(i64, i64)],
    ) {
        let mut by_day: BTreeMap<i64, ChargeRow> = BTreeMap::new();
        let mut captured = None;
        for &(t, state, reason, capture) in states {
            captured = capture.or(captured);
            by_day.insert(
                day_of(t),
                ChargeRow {
                    id: ch.charge_id.clone(),
                    permission: ch.permission.clone(),
                    merchant_ref: ch.merchant_ref.clone(),
                    created: ch.created,
                    updated: t,
                    state,
                    reason,
                    amount: ch.amount,
                    capture: captured,
                    refunded: None,
                    currency: ch.currency,
                    seller_ref: ch.seller_ref.clone(),
                },
            );
        }
        let mut refunded = 0;
        for &(t, amount) in refunds {
            refunded += amount;
            let d = day_of(t);
            let mut row = by_day
                .range(..=d)
                .next_back()
                .map(|(_, r)| r.clone())
                .expect("refund after capture");
            row.refunded = Some(refunded);
            by_day.insert(d, row);
        }
        for (d, row) in by_day {
            self.buf(d).charges.push(row);
        }
    }

    fn push_line(&mut self, day: i64, currency: Currency, line: Line) {
        self.buf(day).lines.entry(currency).or_default().push(line);
    }
}

struct ChargeCtx {
    pub(super) charge_id: String,
    pub(super) permission: String,
    pub(super) merchant_ref: Option<String>,
    pub(super) created: i64,
    pub(super) amount: i64,
    pub(super) currency: Currency,
    pub(super) seller_ref: String,
    pub(super) order_id: String,
}
