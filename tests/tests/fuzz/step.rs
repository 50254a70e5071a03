//! Executing one op.
use super::model::{self, Intent, Risk};
use super::*;
use super::{input::*, state::*};

// ---------------------------------------------------------------------------------------
// Executing one op
// ---------------------------------------------------------------------------------------

pub(super) async fn step(env: &mut TestEnv, st: &mut State, op: &Op) -> Out {
    let exchange = env.exchange;
    let mint = env.mint;
    match *op {
        Deposit { user, amount } => {
            let u = st.user(user);
            let ix = sdk::deposit(&u.key(), &exchange, &mint, &u.margin_account, &u.token_account, amount);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Withdraw { user, eighths } => {
            let u = st.user(user);
            let c = env.collateral(&u.margin_account).await.max(0) as u128;
            let amount = match eighths {
                0 => 0,
                10 | 11 => model::free_collateral(env, st, &u.margin_account).await.max(0) as u64 + eighths as u64 - 10,
                _ => ((c * eighths as u128 / 8) as u64).max(1),
            };
            let u = st.user(user);
            *st.intent.borrow_mut() = Intent::Withdraw { account: u.margin_account, amount };
            let health = env.health_metas(&u.margin_account, &[]).await;
            let ix = sdk::withdraw(&u.key(), &exchange, &mint, &u.margin_account, &u.token_account, amount, health);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Place { user, market, dir, offset_bps, lots, kind, reduce_only, stp, expiry, client_id } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let price = ref_price(env, st, mi).await;
            let u = st.user(user);
            let side = book_side(dir);
            let mut args = order(side, ticks(price, offset_bps), lots as u64, order_type(kind));
            args.reduce_only = reduce_only;
            args.self_trade = match stp {
                Decrement => SelfTradeBehavior::DecrementTake,
                CancelResting => SelfTradeBehavior::CancelResting,
                Abort => SelfTradeBehavior::AbortTransaction,
            };
            args.client_order_id = client_id as u64;
            let now = env.now().await;
            args.expiry_ts = match expiry {
                Never => 0,
                In(s) => now + s as i64,
                Past => now,
            };
            *st.intent.borrow_mut() = Intent::Taker { account: u.margin_account, market: book.market.market };
            let ix = env.place_ix(u, &book, args).await;
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Cancel { user, market, which, by } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let u = st.user(user);
            let ix = match by {
                Key => {
                    let orders = orders_of(env, &book, &u.margin_account).await;
                    if orders.is_empty() {
                        return Out::Skip;
                    }
                    let o = orders[which as usize % orders.len()];
                    orderbook::sdk::cancel_order(&book.venue, &u.key(), &u.margin_account, o.side, o.key)
                }
                ClientId => orderbook::sdk::cancel_order_by_client_id(
                    &book.venue,
                    &u.key(),
                    &u.margin_account,
                    which as u64 % 4,
                ),
                All(limit) => orderbook::sdk::cancel_all_orders(&book.venue, &u.key(), &u.margin_account, limit as u16),
            };
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Replace { user, market, which, offset_bps, lots, kind } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let u = st.user(user);
            let orders = orders_of(env, &book, &u.margin_account).await;
            if orders.is_empty() {
                return Out::Skip;
            }
            let o = orders[which as usize % orders.len()];
            let price = ref_price(env, st, mi).await;
            let mut args = order(o.side, ticks(price, offset_bps), lots as u64, order_type(kind));
            args.seat_hint = env.seat_for(&book, &u.margin_account).await;
            let health = env.health_for(u, &book).await;
            *st.intent.borrow_mut() = Intent::Taker { account: u.margin_account, market: book.market.market };
            let ix =
                orderbook::sdk::replace_order(&book.venue, &u.key(), &u.margin_account, o.side, o.key, args, health);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        Trade { taker, maker, market, mut dir, mut lots, mut leverage, offset_bps, reduce } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let cookie = st.markets[mi].cookie;
            let mut ti = st.user_index(taker);
            // `settle_fills` refuses a taker, and skips a maker, whose position holds a seat
            // allowance (it trades through the book only): a reduction and its maker are
            // picked among the others.
            let mut seated = vec![];
            for u in &st.users {
                seated.push(env.position(&u.margin_account, &cookie.market).await.has_seat_allowance());
            }
            if reduce {
                let mut risk = user_risk(env, st, mi).await;
                for (r, seated) in risk.iter_mut().zip(&seated) {
                    if *seated {
                        r.2 = 0;
                    }
                }
                let Some(a) = pick_weakest(st, Auto, &risk, true, true) else { return Out::Skip };
                let held = risk[a].2;
                (ti, leverage) = (a, 0);
                dir = if held > 0 { Sell } else { Buy };
                lots = lots.clamp(1, held.unsigned_abs().min(u16::MAX as u64) as u16);
            }
            let mut mk = st.user_index(maker);
            if mk == ti {
                mk = (mk + 1) % st.users.len();
            }
            if reduce && seated[mk] {
                mk = (0..st.users.len()).find(|i| *i != ti && !seated[*i]).unwrap_or(mk);
            }
            if leverage > 0 {
                // A leveraged taker meets the richest other account, whose reservation (band
                // included) can cover the trade, so that leveraged positions actually open.
                let mut best = (i64::MIN, mk);
                for (i, u) in st.users.iter().enumerate().filter(|(i, _)| *i != ti) {
                    let c = env.collateral(&u.margin_account).await;
                    if c > best.0 {
                        best = (c, i);
                    }
                }
                mk = best.1;
            }
            let price = ref_price(env, st, mi).await;
            // A reduction trades against the reducer, at least half the band away (its fill
            // at a loss), within the band.
            let offset = if reduce {
                let band = env.market_state(&cookie.market).await.price_band_bps as i16;
                let adverse = (offset_bps.saturating_abs().saturating_add(band / 2)).min(band - 1);
                if dir == Sell {
                    -adverse
                } else {
                    adverse
                }
            } else {
                offset_bps
            };
            let price = (price as i128 * (10_000 + offset as i128) / 10_000).max(1) as u64;
            let (t, m) = (&st.users[ti], &st.users[mk]);
            let lots = if leverage > 0 {
                let c = env.collateral(&t.margin_account).await.max(0) as u64;
                (c * leverage as u64 / price.max(1)).clamp(1, u16::MAX as u64) as u16
            } else {
                lots
            };
            let (bid, ask, taker_side) = match dir {
                Buy => (0, lots as i64, Side::Bid),
                Sell => (lots as i64, 0, Side::Ask),
            };
            let before = env.position(&m.margin_account, &cookie.market).await;
            let (taker_key, maker_key) = (t.margin_account, m.margin_account);
            let ix = env.reserve_ix(m, &cookie, bid, ask).await;
            if let Err(name) = send(env, &[ix], &[&m.owner]).await {
                *st.intent.borrow_mut() = Intent::Reserve { account: maker_key, market: cookie.market, bid, ask };
                return Out::Refused(name);
            }
            model::check_reservation(env, st, &maker_key).await;
            let (t, m) = (&st.users[ti], &st.users[mk]);
            let fill = Fill { maker_index: 0, taker_side, base_lots: lots as u64, price_per_lot: price };
            *st.intent.borrow_mut() = Intent::Fill { taker: taker_key, market: cookie.market, fill };
            let ix = env.settle_ix(t, &cookie, &[m.margin_account], vec![fill], vec![], 0, 0).await;
            let res = send(env, &[ix], &[&t.owner]).await;
            // Give back whatever of the maker's reservation the fill did not consume.
            let after = env.position(&m.margin_account, &cookie.market).await;
            let extra_bid = after.open_bid_lots.saturating_sub(before.open_bid_lots) as i64;
            let extra_ask = after.open_ask_lots.saturating_sub(before.open_ask_lots) as i64;
            if extra_bid > 0 || extra_ask > 0 {
                let ix = env.reserve_ix(m, &cookie, -extra_bid, -extra_ask).await;
                send(env, &[ix], &[&m.owner]).await.expect("releasing a test-trader reservation");
            }
            out(res)
        }
        SetFundingRate { market, rate_ppbh } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let fa = env.funding_authority.insecure_clone();
            let ix = sdk::set_funding_rate(&fa.pubkey(), &exchange, &c.market, &c.oracle, rate_ppbh as i64);
            out(send(env, &[ix], &[&fa]).await)
        }
        UpdateFunding { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            out(send(env, &[sdk::update_funding(&c.market, &c.oracle)], &[]).await)
        }
        SettleFunding { market, user } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let Some(ma) = holder(env, st, mi, user).await else { return Out::Skip };
            *st.intent.borrow_mut() = Intent::Funding { account: ma, market: c.market };
            out(send(env, &[sdk::settle_funding(&c.market, &c.oracle, &ma)], &[]).await)
        }
        SampleMark { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            *st.intent.borrow_mut() = Intent::Sample { market: book.market.market };
            out(send(env, &[orderbook::sdk::sample_mark(&book.venue)], &[]).await)
        }
        MovePrice { market, bps, crank } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            if st.markets[mi].cookie.kind == OracleKind::None {
                return Out::Skip;
            }
            let p = st.markets[mi].price as i128 * (10_000 + bps as i128) / 10_000;
            let p = p.clamp(50_000, 50_000_000) as i64;
            publish(env, st, mi, p).await;
            let c = st.markets[mi].cookie;
            if crank {
                return out(send(env, &[sdk::update_funding(&c.market, &c.oracle)], &[]).await);
            }
            Out::Done
        }
        Squeeze { bps, to } => {
            let Some(mi) = target_market(env, st, 0, Auto, true).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            if c.kind == OracleKind::None {
                return Out::Skip;
            }
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, Auto, &risk, true, true) else { return Out::Skip };
            let sign = if risk[a].2 > 0 { -1 } else { 1 };
            let mut bps = bps as i128;
            if to > 0 {
                // The move per lot `d` that brings equity `e + l*d` to `|l| * (p + d) * m`
                // (m: initial or maintenance bps of the position's side; 0 for equity 0),
                // overshot by a quarter so the account lands past the edge even where the mark lags
                // the index.
                let s = env.market_state(&c.market).await;
                let (l, e, p) = (risk[a].2 as i128, risk[a].0, ref_price(env, st, mi).await as i128);
                let m = match (to, l > 0) {
                    (1, true) => s.init_margin_long_bps,
                    (1, false) => s.init_margin_short_bps,
                    (2, true) => s.maint_margin_long_bps,
                    (2, false) => s.maint_margin_short_bps,
                    _ => 0,
                } as i128;
                let d = (l.abs() * p * m - e * 10_000) / (l * 10_000 - l.abs() * m);
                let need = sign * d * 12_500 / p.max(1);
                if need > 0 {
                    bps = bps.min(need + 1);
                }
            }
            let p = st.markets[mi].price as i128 * (10_000 + sign * bps) / 10_000;
            let p = p.clamp(50_000, 50_000_000) as i64;
            publish(env, st, mi, p).await;
            out(send(env, &[sdk::update_funding(&c.market, &c.oracle)], &[]).await)
        }
        OracleOutage { market, primary, fallback, refresh } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            if st.markets[mi].cookie.kind == OracleKind::None {
                return Out::Skip;
            }
            st.markets[mi].live = [primary, fallback];
            // An oracle that comes back publishes at once.
            let p = st.markets[mi].price;
            publish(env, st, mi, p).await;
            if refresh {
                return refresh_source(env, st, mi).await;
            }
            Out::Done
        }
        RefreshOracle { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            if st.markets[mi].cookie.kind == OracleKind::None {
                return Out::Skip;
            }
            refresh_source(env, st, mi).await
        }
        Warp { secs, refresh } => {
            env.warp(secs as i64).await;
            if refresh {
                refresh_oracles(env, st).await;
            }
            Out::Done
        }
        List { with_index, deposit_usdc } => {
            if st.listed >= 2 {
                return Out::Skip;
            }
            st.listed += 1;
            let admin = env.admin.insecure_clone();
            let deposit = deposit_usdc as u64 * ONE_USDC;
            env.process(&[sdk::set_listing_deposit(&admin.pubkey(), &exchange, deposit)], &[&admin])
                .await
                .expect("set listing deposit");
            let lister = Keypair::new();
            env.airdrop(&lister.pubkey(), 10_000_000_000).await;
            let token = env.create_token_account(&lister.pubkey(), deposit + 10 * ONE_USDC).await;
            let (oracle, kind) = if with_index {
                let key = Pubkey::new_unique();
                let now = env.now().await;
                env.write_pyth(&key, 1_000_000, 0, -6, now, PriceStatus::Trading);
                (key, OracleKind::PythLegacy)
            } else {
                (Pubkey::default(), OracleKind::None)
            };
            let symbol = sdk::symbol(&format!("LIST{}", st.listed));
            let args = ListMarketArgs {
                symbol,
                oracle_kind: kind,
                base_decimals: 6,
                base_lot_size: 1_000_000,
                initial_price_per_lot: 1_000_000,
            };
            let ix = sdk::list_market(&lister.pubkey(), &exchange, &mint, &token, &oracle, args);
            if let Err(name) = send(env, &[ix], &[&lister]).await {
                return Out::Refused(name);
            }
            let cookie =
                MarketCookie { symbol, market: sdk::market_address(&exchange, &symbol), oracle, kind, expo: -6 };
            env.markets.push(cookie);
            let book =
                env.create_book_as(&cookie, book_args(64, 16), &lister).await.expect("the lister creates the book");
            st.markets.push(Mkt::new(cookie, Some(book), 1_000_000, Some((lister, token))));
            Out::Done
        }
        Liquidate { market, liquidatee, liquidator, max_lots } => {
            let Some(mi) = target_market(env, st, market, liquidatee, true).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, liquidatee, &risk, true, true) else { return Out::Skip };
            let mut l = st.user_index(liquidator);
            if l == a {
                l = (l + 1) % st.users.len();
            }
            let (lq, lr) = (&st.users[a], &st.users[l]);
            let lqh = env.health_metas(&lq.margin_account, &[c.market]).await;
            let lrh = env.health_metas(&lr.margin_account, &[c.market]).await;
            let max = if max_lots == u16::MAX { u64::MAX } else { max_lots as u64 };
            let ix = sdk::liquidate(
                &exchange,
                &c.market,
                &c.oracle,
                &lq.margin_account,
                &lr.margin_account,
                &lr.key(),
                max,
                lqh,
                lrh,
            );
            *st.intent.borrow_mut() = Intent::Risk {
                kind: Risk::Takeover,
                account: lq.margin_account,
                other: Some(lr.margin_account),
                market: c.market,
                lots: max,
            };
            let r = send(env, &[ix], &[&lr.owner]).await;
            if r.is_ok() {
                let k = lq.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        LiquidateOrder { market, liquidatee, caller, max_lots, limit_offset_bps } => {
            let Some(mi) = target_market(env, st, market, liquidatee, true).await else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, liquidatee, &risk, true, true) else { return Out::Skip };
            let price = ref_price(env, st, mi).await;
            let (lq, caller) = (&st.users[a], st.user(caller));
            let health = env.health_metas(&lq.margin_account, &[c.market]).await;
            let max = if max_lots == u16::MAX { u64::MAX } else { max_lots as u64 };
            let ix = orderbook::sdk::liquidate_order(
                &book.venue,
                &caller.key(),
                &lq.margin_account,
                max,
                ticks(price, limit_offset_bps),
                health,
            );
            *st.intent.borrow_mut() = Intent::Risk {
                kind: Risk::Order,
                account: lq.margin_account,
                other: None,
                market: c.market,
                lots: max,
            };
            let r = send(env, &[ix], &[&caller.owner]).await;
            if r.is_ok() {
                let k = lq.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        EarlyDeleverage { market, account, counterparty, lots } => {
            let Some(mi) = target_market(env, st, market, account, true).await else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, account, &risk, true, true) else { return Out::Skip };
            let (cp, lots) = pick_offset(st, counterparty, &risk, a, lots);
            let (acct, cpu) = (&st.users[a], &st.users[cp]);
            let health = env.health_metas(&acct.margin_account, &[c.market]).await;
            let da = env.deleverage_authority.insecure_clone();
            let ix = orderbook::sdk::early_deleverage(
                &book.venue,
                &acct.margin_account,
                &cpu.margin_account,
                &da.pubkey(),
                lots,
                health,
            );
            *st.intent.borrow_mut() = Intent::Risk {
                kind: Risk::Early,
                account: acct.margin_account,
                other: Some(cpu.margin_account),
                market: c.market,
                lots,
            };
            let r = send(env, &[ix], &[&da]).await;
            if r.is_ok() {
                let k = acct.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        Deleverage { market, account, counterparty, lots, by_authority } => {
            let Some(mi) = target_market(env, st, market, account, false).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let risk = user_risk(env, st, mi).await;
            let Some(a) = pick_weakest(st, account, &risk, false, true) else { return Out::Skip };
            let (cp, lots) = pick_offset(st, counterparty, &risk, a, lots);
            let (acct, cpu) = (&st.users[a], &st.users[cp]);
            let health = env.health_metas(&acct.margin_account, &[c.market]).await;
            let signer =
                if by_authority { env.deleverage_authority.insecure_clone() } else { cpu.owner.insecure_clone() };
            let ix = sdk::deleverage(
                &exchange,
                &c.market,
                &c.oracle,
                &acct.margin_account,
                &cpu.margin_account,
                &signer.pubkey(),
                lots,
                health,
            );
            *st.intent.borrow_mut() = Intent::Risk {
                kind: Risk::Deleverage,
                account: acct.margin_account,
                other: Some(cpu.margin_account),
                market: c.market,
                lots,
            };
            let r = send(env, &[ix], &[&signer]).await;
            if r.is_ok() {
                let k = acct.margin_account;
                st.cleared(k);
            }
            out(r)
        }
        CoverWithInsurance { account } => {
            let risk = user_risk(env, st, usize::MAX).await;
            let Some(a) = pick_weakest(st, account, &risk, false, false) else { return Out::Skip };
            let acct = &st.users[a];
            let health = env.health_metas(&acct.margin_account, &[]).await;
            let da = env.deleverage_authority.insecure_clone();
            let ix = sdk::cover_with_insurance(&exchange, &acct.margin_account, &da.pubkey(), health);
            *st.intent.borrow_mut() = Intent::Underwater { account: acct.margin_account, cover: true };
            out(send(env, &[ix], &[&da]).await)
        }
        MarkUnderwater { account, caller } => {
            let risk = user_risk(env, st, usize::MAX).await;
            let Some(a) = pick_weakest(st, account, &risk, false, false) else { return Out::Skip };
            let (acct, caller) = (&st.users[a], st.user(caller));
            let health = env.health_metas(&acct.margin_account, &[]).await;
            let ix = sdk::mark_underwater(&exchange, &acct.margin_account, &caller.key(), health);
            *st.intent.borrow_mut() = Intent::Underwater { account: acct.margin_account, cover: false };
            out(send(env, &[ix], &[&caller.owner]).await)
        }
        DepositInsurance { user, amount } => {
            let u = st.user(user);
            let ix = sdk::deposit_insurance(&u.key(), &exchange, &mint, &u.token_account, amount);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        WithdrawInsurance { eighths } => {
            let fund = env.insurance_fund().await as u128;
            let amount = if eighths == 0 { 0 } else { ((fund * eighths as u128 / 8) as u64).max(1) };
            let admin = env.admin.insecure_clone();
            let ix = sdk::withdraw_insurance(&admin.pubkey(), &exchange, &mint, &st.admin_token, amount);
            out(send(env, &[ix], &[&admin]).await)
        }
        FinalSettle { market, band } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let p = ref_price(env, st, mi).await.max(1) as i128;
            let (lo, hi) = match band {
                Around(bps) => (p * (10_000 - bps as i128) / 10_000, p * (10_000 + bps as i128) / 10_000 + 1),
                Off(bps) => {
                    let x = p * (10_000 + bps as i128) / 10_000;
                    (x, x)
                }
            };
            let admin = env.admin.insecure_clone();
            let (lo, hi) = (lo.max(0) as u64, hi.max(0) as u64);
            *st.intent.borrow_mut() = Intent::FinalSettle { market: c.market, lo, hi };
            let ix = sdk::final_settle_market(&admin.pubkey(), &exchange, &c.market, &c.oracle, lo, hi);
            out(send(env, &[ix], &[&admin]).await)
        }
        SettleFinalPosition { market, user } => {
            let Some(mi) = settled_first(env, st, market, |m| !m.closed).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            if let U(i) = user {
                let ma = st.user(i).margin_account;
                return out(send(env, &[sdk::settle_final_position(&c.market, &ma)], &[]).await);
            }
            // Auto: the keeper's final-settlement crank, one transaction per holder.
            let mut result = Out::Skip;
            while let Some(ma) = holder(env, st, mi, Auto).await {
                match send(env, &[sdk::settle_final_position(&c.market, &ma)], &[]).await {
                    Ok(_) => result = Out::Done,
                    Err(name) => return Out::Refused(name),
                }
            }
            result
        }
        SweepFees { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            out(send(env, &[sdk::sweep_fees(&exchange, &c.market)], &[]).await)
        }
        PauseExchange { paused, by_admin } => {
            let signer = if by_admin { env.admin.insecure_clone() } else { env.guardian.insecure_clone() };
            out(send(env, &[sdk::set_exchange_paused(&signer.pubkey(), &exchange, paused)], &[&signer]).await)
        }
        SetMarketStatus { market, status, by_admin } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let status = match status {
                0 => MarketStatus::Active,
                1 => MarketStatus::ReduceOnly,
                2 => MarketStatus::Paused,
                _ => MarketStatus::FinalSettlement,
            };
            let signer = if by_admin { env.admin.insecure_clone() } else { env.guardian.insecure_clone() };
            out(send(env, &[sdk::set_market_status(&signer.pubkey(), &exchange, &c.market, status)], &[&signer]).await)
        }
        SetMargins { market, long_bps, short_bps } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let c = st.markets[mi].cookie;
            let ra = env.risk_authority.insecure_clone();
            out(send(env, &[sdk::set_margins(&ra.pubkey(), &exchange, &c.market, long_bps, short_bps)], &[&ra]).await)
        }
        CloseBook { market } => {
            let Some(mi) = settled_first(env, st, market, |m| m.book.is_some()).await else { return Out::Skip };
            let book = st.markets[mi].book.unwrap();
            let creator = env.ctx.payer.pubkey();
            let r =
                send(env, &[orderbook::sdk::close_book(&creator, &book.venue.book, &book.market.market)], &[]).await;
            if r.is_ok() {
                st.markets[mi].book = None;
                env.books.retain(|b| b.venue.book != book.venue.book);
            }
            out(r)
        }
        SettleSeats { .. } | RevokeSeat { .. } | GiveUpSeat { .. } => super::seats::step(env, st, op).await,
        CloseMarket { market, crank } => {
            let Some(mi) = settled_first(env, st, market, |m| !m.closed).await else { return Out::Skip };
            let c = st.markets[mi].cookie;
            if crank {
                // Seats first, as the keeper does once the market is settled.
                let settled = env.market_state(&c.market).await.is_final_settled();
                if let (true, Some(book)) = (settled, st.markets[mi].book) {
                    if let Err(name) = super::seats::revoke_all_seats(env, &book).await {
                        return Out::Refused(name);
                    }
                }
                while let Some(ma) = holder(env, st, mi, Auto).await {
                    if let Err(name) = send(env, &[sdk::settle_final_position(&c.market, &ma)], &[]).await {
                        return Out::Refused(name);
                    }
                }
                if let Some(book) = st.markets[mi].book {
                    let creator = env.ctx.payer.pubkey();
                    if let Err(name) =
                        send(env, &[orderbook::sdk::close_book(&creator, &book.venue.book, &book.market.market)], &[])
                            .await
                    {
                        return Out::Refused(name);
                    }
                    st.markets[mi].book = None;
                    env.books.retain(|b| b.venue.book != book.venue.book);
                }
            }
            // The registered book, which must be closed first (MarketNotEmpty otherwise).
            let book = st.markets[mi].book_key;
            let (lister, token) = match &st.markets[mi].lister {
                Some((k, t)) => (k.pubkey(), *t),
                None => (env.admin.pubkey(), st.admin_token),
            };
            let r = send(env, &[sdk::close_market(&lister, &exchange, &c.market, &book, &mint, &token)], &[]).await;
            if r.is_ok() {
                st.markets[mi].closed = true;
                env.markets.retain(|m| m.market != c.market);
            }
            out(r)
        }
    }
}

/// Re-publishes every live oracle at the harness's price, stamped now.
pub(super) async fn refresh_oracles(env: &mut TestEnv, st: &mut State) {
    for mi in 0..st.markets.len() {
        if !st.markets[mi].closed && st.markets[mi].cookie.kind != OracleKind::None {
            let p = st.markets[mi].price;
            publish(env, st, mi, p).await;
        }
    }
}

/// The permissionless `refresh_oracle_source`, then the harness follows the source.
async fn refresh_source(env: &mut TestEnv, st: &mut State, mi: usize) -> Out {
    let m = &st.markets[mi];
    let ix = sdk::refresh_oracle_source(&m.cookie.market, &m.primary, &m.fallback.unwrap_or_default());
    let r = send(env, &[ix], &[]).await;
    follow_source(env, st, mi).await;
    out(r)
}
