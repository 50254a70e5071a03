//! The seat ops (docs/seats.md): settling seats, revoking them, giving them up, and the
//! keeper's revokes before a settled market closes.
use super::model::Intent;
use super::*;
use super::{input::*, state::*};

/// Seats of `book` held by an account: (index, margin account).
async fn held_seats(env: &mut TestEnv, book: &BookCookie) -> Vec<(u32, Pubkey)> {
    let data = env.book_data(book).await;
    decode::held_seats(&BookRef::parse(&data).expect("book"))
}

/// Settles every seat of `book` holding pending fills, 16 per transaction (the keeper's
/// crank).
pub(super) async fn settle_seats(env: &mut TestEnv, book: &BookCookie) -> Result<(), String> {
    let data = env.book_data(book).await;
    let b = BookRef::parse(&data).expect("book");
    let pending = decode::seats_with_pending(&b);
    for batch in pending.chunks(16) {
        let seats = batch.iter().map(|(i, _)| *i).collect();
        let accounts: Vec<Pubkey> = batch.iter().map(|(_, k)| *k).collect();
        send(env, &[orderbook::sdk::settle_seats(&book.venue, seats, &accounts)], &[]).await?;
    }
    Ok(())
}

/// Revokes every seat of the book of a settled market (the keeper's first step there).
pub(super) async fn revoke_all_seats(env: &mut TestEnv, book: &BookCookie) -> Result<(), String> {
    let payer = env.ctx.payer.pubkey();
    for (i, account) in held_seats(env, book).await {
        send(env, &[orderbook::sdk::revoke_seat(&book.venue, &payer, &account, i, vec![])], &[]).await?;
    }
    Ok(())
}

pub(super) async fn step(env: &mut TestEnv, st: &mut State, op: &Op) -> Out {
    match *op {
        SettleSeats { market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            out(settle_seats(env, &book).await)
        }
        RevokeSeat { market, account } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let seats = held_seats(env, &book).await;
            let target = match account {
                U(i) => {
                    let key = st.user(i).margin_account;
                    seats.iter().find(|(_, k)| *k == key).copied().or(Some((0, key)))
                }
                // The seat holder with the least margin above maintenance.
                Auto | Same => {
                    let risk = user_risk(env, st, mi).await;
                    seats
                        .iter()
                        .filter_map(|(i, k)| {
                            let u = st.users.iter().position(|u| u.margin_account == *k)?;
                            Some((margin_ratio(&risk[u]), *i, *k))
                        })
                        .min()
                        .map(|(_, i, k)| (i, k))
                }
            };
            let Some((seat, key)) = target else { return Out::Skip };
            let c = st.markets[mi].cookie;
            *st.intent.borrow_mut() = Intent::Revoke { account: key, market: c.market };
            let health = env.health_metas(&key, &[c.market]).await;
            let payer = env.ctx.payer.pubkey();
            out(send(env, &[orderbook::sdk::revoke_seat(&book.venue, &payer, &key, seat, health)], &[]).await)
        }
        GiveUpSeat { user, market } => {
            let Some(mi) = st.live(market) else { return Out::Skip };
            let Some(book) = st.markets[mi].book else { return Out::Skip };
            let u = st.user(user);
            let seat_hint = env.seat_for(&book, &u.margin_account).await;
            let args = orderbook::instructions::AllowanceArgs {
                seat_hint,
                bid_lots: 0,
                ask_lots: 0,
                bid_limit_ticks: 0,
                ask_limit_ticks: 0,
            };
            let health = env.health_metas(&u.margin_account, &[book.market.market]).await;
            let ix = orderbook::sdk::set_allowance(&book.venue, &u.key(), &u.margin_account, args, health);
            let u = st.user(user);
            out(send(env, &[ix], &[&u.owner]).await)
        }
        _ => unreachable!("not a seat op"),
    }
}
