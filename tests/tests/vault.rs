//! The integrator example (`programs/vault`): a program whose PDA owns a margin account,
//! composing perpetual and the order book by CPI. Deposit, place, cancel, a fill against
//! another trader, and withdraw all go through the vault's CPIs; after every step the
//! exchange's invariants (vault equation, positions sum to zero, reservations match the
//! book) and the vault's own (share records sum to the supply, its token account is empty,
//! net deposits match) are checked.
use anchor_lang::prelude::Pubkey;
use integration_tests::adversarial::assert_refused_by;
use integration_tests::*;
use orderbook::error::BookError;
use orderbook::instructions::OrderType;
use orderbook::state::{BookRef, Side};
use perpetual::error::PerpError;
use perpetual::health::{health_from_priced, PricedMarket};
use solana_keypair::Keypair;
use solana_signer::Signer;
use vault::equity::{amount_for_shares, shares_for_deposit};
use vault::error::VaultError;
use vault::sdk::{self as vsdk, VaultKeys};
use vault::state::Vault;

fn vcode(e: VaultError) -> u32 {
    u32::from(e)
}

/// A shareholder: a wallet and its collateral token account (no margin account of its own).
struct Holder {
    owner: Keypair,
    token: Pubkey,
}

struct Fixture {
    env: TestEnv,
    book: BookCookie,
    manager: Keypair,
    k: VaultKeys,
    holders: Vec<Holder>,
    /// Another trader with a margin account of its own, trading against the vault.
    trader: UserCookie,
}

async fn setup(holder_tokens: &[u64]) -> Fixture {
    let mut env = TestEnv::new().await;
    let book = env.market_with_book("SOL", 64).await;
    let manager = Keypair::new();
    env.airdrop(&manager.pubkey(), 1_000_000_000).await;
    let k = VaultKeys::new(&env.exchange, &env.mint, &manager.pubkey(), 0);
    env.process(&[vsdk::create_vault(&k, 0, 16)], &[&manager]).await.expect("create vault");
    // The vault's margin account joins the invariants' sums.
    env.margin_accounts.push(k.margin_account);
    let mut holders = vec![];
    for &tokens in holder_tokens {
        let owner = Keypair::new();
        env.airdrop(&owner.pubkey(), 1_000_000_000).await;
        let token = env.create_token_account(&owner.pubkey(), tokens).await;
        holders.push(Holder { owner, token });
    }
    let trader = env.funded_user(10_000 * ONE_USDC).await;
    Fixture { env, book, manager, k, holders, trader }
}

impl Fixture {
    async fn vault(&mut self) -> Vault {
        let data = self.env.account_data(&self.k.vault).await;
        vsdk::parse_vault(&data).expect("vault account")
    }

    async fn shares_of(&mut self, owner: &Pubkey) -> u64 {
        let data = self.env.account_data(&vsdk::share_record_address(&self.k.vault, owner)).await;
        vsdk::parse_share_record(&data).map(|r| r.shares).unwrap_or(0)
    }

    /// The vault margin account's health accounts, no market skipped (deposit, withdraw).
    async fn health(&mut self) -> Vec<anchor_lang::prelude::AccountMeta> {
        let margin = self.k.margin_account;
        self.env.health_metas(&margin, &[]).await
    }

    async fn deposit_ix(&mut self, h: usize, amount: u64) -> anchor_lang::solana_program::instruction::Instruction {
        let health = self.health().await;
        let (user, token) = (self.holders[h].owner.pubkey(), self.holders[h].token);
        vsdk::deposit(&self.k, &user, &token, amount, health)
    }

    async fn deposit(&mut self, h: usize, amount: u64) {
        let ix = self.deposit_ix(h, amount).await;
        let owner = self.holders[h].owner.insecure_clone();
        self.env.process(&[ix], &[&owner]).await.expect("vault deposit");
    }

    async fn withdraw_ix(&mut self, h: usize, shares: u64) -> anchor_lang::solana_program::instruction::Instruction {
        let health = self.health().await;
        let (user, token) = (self.holders[h].owner.pubkey(), self.holders[h].token);
        vsdk::withdraw(&self.k, &user, &token, shares, health)
    }

    async fn withdraw(&mut self, h: usize, shares: u64) {
        let ix = self.withdraw_ix(h, shares).await;
        let owner = self.holders[h].owner.insecure_clone();
        self.env.process(&[ix], &[&owner]).await.expect("vault withdraw");
    }

    /// The vault's `place_order`, signed by `signer`, with the vault's seat and health.
    async fn place_ix(
        &mut self,
        signer: &Pubkey,
        mut args: orderbook::instructions::PlaceOrderArgs,
    ) -> anchor_lang::solana_program::instruction::Instruction {
        let (book, margin) = (self.book, self.k.margin_account);
        args.seat_hint = self.env.seat_for(&book, &margin).await;
        let health = self.env.health_metas(&margin, &[book.market.market]).await;
        vsdk::place_order(&self.k, signer, &book.venue, args, health)
    }

    async fn place(&mut self, args: orderbook::instructions::PlaceOrderArgs) -> Placed {
        let manager = self.manager.insecure_clone();
        let ix = self.place_ix(&manager.pubkey(), args).await;
        let out = self.env.process(&[ix], &[&manager]).await.expect("vault place");
        placed(&out.return_data)
    }

    /// The vault margin account's equity as the program values it (cached index = the
    /// oracle's price in these tests).
    async fn equity(&mut self) -> perpetual::math::I80F48 {
        let margin = self.k.margin_account;
        let (header, positions) = self.env.margin(&margin).await;
        let now = self.env.now().await;
        let mut priced = vec![];
        for p in positions.iter().filter(|p| !p.is_free()) {
            let market = self.env.market_state(&p.market).await;
            priced.push(PricedMarket::new(p.market, &market, None, now).expect("priced"));
        }
        health_from_priced(&header, &positions, &priced).expect("health").equity
    }

    /// Every protocol invariant, the book against the reservations, and the vault's own:
    /// the share records sum to the supply, the pass-through token account is empty, the
    /// cumulative flows match the holders' token balances, and — while the vault has never
    /// traded (`traded == false`) — the margin account's collateral equals net deposits.
    async fn check(&mut self, start_tokens: &[u64], traded: bool) {
        let book = self.book;
        check_book(&mut self.env, &book).await;
        invariants::check(&mut self.env).await;
        let v = self.vault().await;
        let mut sum = 0u64;
        let mut spent = 0i128;
        for (i, start) in start_tokens.iter().enumerate() {
            let owner = self.holders[i].owner.pubkey();
            sum += self.shares_of(&owner).await;
            let token = self.holders[i].token;
            spent += *start as i128 - self.env.token_balance(&token).await as i128;
        }
        assert_eq!(sum, v.total_shares, "share records sum to the vault's supply");
        let vault_token = self.k.vault_token;
        assert_eq!(
            self.env.token_balance(&vault_token).await,
            0,
            "deposits pass straight through the vault's token account"
        );
        assert_eq!(
            spent,
            v.total_deposited as i128 - v.total_withdrawn as i128,
            "net deposits are what the holders paid in"
        );
        if !traded {
            let margin = self.k.margin_account;
            let collateral = self.env.collateral(&margin).await;
            assert_eq!(collateral as i128, spent, "the margin account holds exactly the net deposits");
            assert_eq!(v.total_shares as i128, spent, "with no trading result, shares are 1:1 with net deposits");
        }
    }
}

#[tokio::test]
async fn create_vault_owns_its_margin_account_through_its_pda() {
    let mut f = setup(&[]).await;
    let v = f.vault().await;
    assert_eq!(
        (v.manager, v.exchange, v.authority, v.margin_account),
        (f.manager.pubkey(), f.env.exchange, f.k.authority, f.k.margin_account)
    );
    assert_eq!((v.vault_token, v.collateral_mint, v.total_shares), (f.k.vault_token, f.env.mint, 0));
    let margin = f.k.margin_account;
    let (header, positions) = f.env.margin(&margin).await;
    assert_eq!(header.owner, f.k.authority, "the vault's PDA owns the margin account");
    assert_eq!((header.collateral, positions.len()), (0, 16));
    let account = f.env.account(&f.k.vault).await.unwrap();
    assert_eq!(account.owner, vault::ID);
    // A second vault with the same id is refused (its addresses exist).
    let manager = f.manager.insecure_clone();
    let ix = vsdk::create_vault(&f.k, 0, 16);
    assert!(f.env.process(&[ix], &[&manager]).await.is_err());
    // Capacity outside perpetual's bounds is the vault's own named error.
    let k1 = VaultKeys::new(&f.env.exchange, &f.env.mint, &manager.pubkey(), 1);
    assert_refused_by(
        &mut f.env,
        &[vsdk::create_vault(&k1, 1, 8)],
        &[&manager],
        vcode(VaultError::InvalidCapacity),
        &vault::ID,
        "capacity 8",
    )
    .await;
    f.check(&[], false).await;
}

#[tokio::test]
async fn deposit_place_cancel_withdraw_through_cpi() {
    let start = [2_000 * ONE_USDC, 1_000 * ONE_USDC];
    let mut f = setup(&start).await;
    let perp_vault = f.env.vault;
    let vault_before = f.env.token_balance(&perp_vault).await;

    // Deposits: the first is 1:1, the second at the same price.
    f.deposit(0, 1_000 * ONE_USDC).await;
    f.check(&start, false).await;
    f.deposit(1, 500 * ONE_USDC).await;
    let (a, b) = (f.holders[0].owner.pubkey(), f.holders[1].owner.pubkey());
    assert_eq!((f.shares_of(&a).await, f.shares_of(&b).await), (1_000 * ONE_USDC, 500 * ONE_USDC));
    assert_eq!(
        f.env.token_balance(&perp_vault).await - vault_before,
        1_500 * ONE_USDC,
        "the tokens reached perpetual's vault"
    );
    let v = f.vault().await;
    assert_eq!((v.total_shares, v.total_deposited, v.total_withdrawn), (1_500 * ONE_USDC, 1_500 * ONE_USDC, 0));
    f.check(&start, false).await;

    // The manager rests a bid through the vault; the book and perpetual's seat allowance agree.
    let placed = f.place(order(Side::Bid, 95, 10, OrderType::PostOnly)).await;
    assert_ne!(placed.key, 0, "the order rests and its key is relayed as return data");
    assert_eq!(placed.filled, 0);
    let (margin, market) = (f.k.margin_account, f.book.market.market);
    let pos = f.env.position(&margin, &market).await;
    assert_eq!((pos.base_lots, pos.seat_bid_lots, pos.seat_ask_lots), (0, 10, 0));
    let data = f.env.book_data(&f.book).await;
    assert_eq!(orderbook::decode::best(&BookRef::parse(&data).unwrap(), Side::Bid), Some((95, 10)));
    f.check(&start, false).await;

    // An ask too, then both cancelled through the vault.
    let ask = f.place(order(Side::Ask, 110, 4, OrderType::Limit)).await;
    assert_ne!(ask.key, 0);
    assert_eq!(f.env.position(&margin, &market).await.seat_ask_lots, 4);
    f.check(&start, false).await;
    let manager = f.manager.insecure_clone();
    for (side, key) in [(Side::Bid, placed.key), (Side::Ask, ask.key)] {
        let ix = vsdk::cancel_order(&f.k, &manager.pubkey(), &f.book.venue, side, key);
        f.env.process(&[ix], &[&manager]).await.expect("vault cancel");
        f.check(&start, false).await;
    }
    // The seat keeps its allowance for the next quote; nothing rests on it.
    let seat = f.env.seat_of(&f.book, &margin).await.unwrap();
    assert_eq!((seat.open_bid_lots, seat.open_ask_lots, seat.allowed_bid_lots, seat.allowed_ask_lots), (0, 0, 10, 4));
    // The manager gives the seat up, so withdrawals need no margin for it.
    let none = orderbook::instructions::AllowanceArgs {
        seat_hint: f.env.seat_for(&f.book, &margin).await,
        bid_lots: 0,
        ask_lots: 0,
        bid_limit_ticks: 0,
        ask_limit_ticks: 0,
    };
    let health = f.env.health_metas(&margin, &[market]).await;
    let ix = vsdk::set_allowance(&f.k, &manager.pubkey(), &f.book.venue, none, health);
    f.env.process(&[ix], &[&manager]).await.expect("give the seat up");
    assert!(f.env.seat_of(&f.book, &margin).await.is_none());
    let data = f.env.book_data(&f.book).await;
    let b_ref = BookRef::parse(&data).unwrap();
    assert_eq!((orderbook::decode::best(&b_ref, Side::Bid), orderbook::decode::best(&b_ref, Side::Ask)), (None, None));
    // Cancelling it again: the order book's own error passes through.
    let ix = vsdk::cancel_order(&f.k, &manager.pubkey(), &f.book.venue, Side::Bid, placed.key);
    assert_refused_by(
        &mut f.env,
        &[ix],
        &[&manager],
        u32::from(BookError::OrderNotFound),
        &orderbook::ID,
        "cancel twice",
    )
    .await;

    // Withdrawals: part, then everything; amounts 1:1 with no trading result.
    let token_a = f.holders[0].token;
    let before = f.env.token_balance(&token_a).await;
    f.withdraw(0, 400 * ONE_USDC).await;
    assert_eq!(f.env.token_balance(&token_a).await - before, 400 * ONE_USDC);
    assert_eq!(f.shares_of(&a).await, 600 * ONE_USDC);
    f.check(&start, false).await;
    f.withdraw(0, 600 * ONE_USDC).await;
    f.check(&start, false).await;
    f.withdraw(1, 500 * ONE_USDC).await;
    f.check(&start, false).await;
    let v = f.vault().await;
    assert_eq!((v.total_shares, f.env.collateral(&margin).await), (0, 0));
    assert_eq!(f.env.token_balance(&token_a).await, start[0]);
    let token_b = f.holders[1].token;
    assert_eq!(f.env.token_balance(&token_b).await, start[1]);
}

#[tokio::test]
async fn vault_trades_against_another_trader_and_prices_shares_at_equity() {
    let start = [2_000 * ONE_USDC, 1_000 * ONE_USDC, 1_000 * ONE_USDC];
    let mut f = setup(&start).await;
    f.deposit(0, 1_000 * ONE_USDC).await;
    f.deposit(1, 500 * ONE_USDC).await;
    f.check(&start, false).await;
    let (margin, market) = (f.k.margin_account, f.book.market.market);
    let trader = f.trader.margin_account;

    // The vault's resting bid is hit by the other trader: the vault is the maker.
    let bid = f.place(order(Side::Bid, 99, 100, OrderType::PostOnly)).await;
    assert_ne!(bid.key, 0);
    let book = f.book;
    let t = f.env.place(&f.trader, &book, order(Side::Ask, 99, 100, OrderType::ImmediateOrCancel)).await.unwrap();
    assert_eq!(t.filled, 100);
    f.env.settle_seats(&book).await;
    let pos = f.env.position(&margin, &market).await;
    assert_eq!((pos.base_lots, pos.seat_bid_lots), (100, 0), "the vault holds a long and its allowance is used");
    assert_eq!(f.env.position(&trader, &market).await.base_lots, -100);
    // 100 lots at $0.99 paid, maker rebate of 100 ppm of $99 received.
    let collateral = f.env.collateral(&margin).await;
    assert_eq!(collateral, 1_500 * ONE_USDC as i64 - 99 * ONE_USDC as i64 + 9_900);
    f.check(&start, true).await;

    // The vault takes: an IOC bid through the vault against the trader's resting ask.
    let trader_ask = f.env.rest(&f.trader, &book, Side::Ask, 101, 20).await;
    assert_ne!(trader_ask, 0);
    let take = f.place(order(Side::Bid, 101, 20, OrderType::ImmediateOrCancel)).await;
    assert_eq!(take, Placed { key: 0, filled: 20 });
    assert_eq!(f.env.position(&margin, &market).await.base_lots, 120);
    f.env.settle_seats(&book).await;
    assert_eq!(f.env.position(&trader, &market).await.base_lots, -120);
    f.check(&start, true).await;

    // Shares are priced at equity (collateral plus the long at the mark), not collateral
    // alone, which fell by what the long cost.
    let equity = f.equity().await;
    let collateral = f.env.collateral(&margin).await;
    assert!(equity > collateral + 100 * ONE_USDC as i64, "the long is worth about $120");
    let v = f.vault().await;
    let expect = shares_for_deposit(300 * ONE_USDC, v.total_shares, equity.ceil().to_num::<u64>()).unwrap();
    assert_ne!(expect, shares_for_deposit(300 * ONE_USDC, v.total_shares, collateral as u64).unwrap());
    f.deposit(2, 300 * ONE_USDC).await;
    let c = f.holders[2].owner.pubkey();
    assert_eq!(f.shares_of(&c).await, expect);
    f.check(&start, true).await;

    // More shares than owned: the vault's named error, nothing changes.
    let owned = f.shares_of(&c).await;
    let ix = f.withdraw_ix(2, owned + 1).await;
    let owner = f.holders[2].owner.insecure_clone();
    assert_refused_by(
        &mut f.env,
        &[ix],
        &[&owner],
        vcode(VaultError::InsufficientShares),
        &vault::ID,
        "more shares than owned",
    )
    .await;
    f.check(&start, true).await;

    // A withdrawal is priced at equity rounded down, and rounded down itself.
    let token_c = f.holders[2].token;
    let before = f.env.token_balance(&token_c).await;
    let v = f.vault().await;
    let equity = f.equity().await;
    let expect = amount_for_shares(owned, v.total_shares, equity.floor().to_num::<u64>()).unwrap();
    assert!(expect <= 300 * ONE_USDC, "a round trip at an unchanged price returns at most the deposit");
    f.withdraw(2, owned).await;
    assert_eq!(f.env.token_balance(&token_c).await - before, expect);
    f.check(&start, true).await;

    // Taking everything out while the long is open: perpetual's initial-margin check on the
    // vault's account refuses it, and the refusal comes from perpetual.
    let ix_a = f.withdraw_ix(0, 1_000 * ONE_USDC).await;
    f.withdraw(1, 500 * ONE_USDC).await;
    f.check(&start, true).await;
    let owner_a = f.holders[0].owner.insecure_clone();
    assert_refused_by(
        &mut f.env,
        &[ix_a],
        &[&owner_a],
        u32::from(PerpError::InsufficientInitialMargin),
        &perpetual::ID,
        "withdraw under margin",
    )
    .await;
    f.check(&start, true).await;

    // The manager closes the long (the trader rests a bid, the vault sells into it), and the
    // last holder can leave; what stays is the vault's rounding.
    let trader_bid = f.env.rest(&f.trader, &book, Side::Bid, 100, 120).await;
    assert_ne!(trader_bid, 0);
    let close = f.place(order(Side::Ask, 100, 120, OrderType::ImmediateOrCancel)).await;
    assert_eq!(close.filled, 120);
    assert_eq!(f.env.position(&margin, &market).await.base_lots, 0);
    f.check(&start, true).await;
    f.withdraw(0, 1_000 * ONE_USDC).await;
    f.check(&start, true).await;
    let v = f.vault().await;
    assert_eq!(v.total_shares, 0);
    let left = f.env.collateral(&margin).await;
    assert!((0..=2).contains(&left), "only rounding dust stays in the vault: {left}");
}

#[tokio::test]
async fn only_the_manager_places_and_cancels() {
    let start = [1_000 * ONE_USDC];
    let mut f = setup(&start).await;
    f.deposit(0, 1_000 * ONE_USDC).await;
    let resting = f.place(order(Side::Bid, 95, 5, OrderType::PostOnly)).await;
    f.check(&start, false).await;

    // A stranger (and a shareholder) signing the vault's place: NotManager, nothing changes.
    let holder = f.holders[0].owner.insecure_clone();
    for signer in [Keypair::new(), holder] {
        let ix = f.place_ix(&signer.pubkey(), order(Side::Bid, 96, 5, OrderType::PostOnly)).await;
        assert_refused_by(
            &mut f.env,
            &[ix],
            &[&signer],
            vcode(VaultError::NotManager),
            &vault::ID,
            "non-manager place",
        )
        .await;
        let ix = vsdk::cancel_order(&f.k, &signer.pubkey(), &f.book.venue, Side::Bid, resting.key);
        assert_refused_by(
            &mut f.env,
            &[ix],
            &[&signer],
            vcode(VaultError::NotManager),
            &vault::ID,
            "non-manager cancel",
        )
        .await;
        f.check(&start, false).await;
    }
    // Going around the vault: the order book refuses a signer who does not own the margin
    // account (only the vault's PDA does, and only the vault program can sign for it).
    let stranger = Keypair::new();
    let health = f.env.health_metas(&f.k.margin_account, &[f.book.market.market]).await;
    let ix = orderbook::sdk::place_order(
        &f.book.venue,
        &stranger.pubkey(),
        &f.k.margin_account,
        order(Side::Bid, 96, 5, OrderType::PostOnly),
        health,
    );
    assert_refused_by(
        &mut f.env,
        &[ix],
        &[&stranger],
        u32::from(BookError::NotOwnerOrDelegate),
        &orderbook::ID,
        "direct place",
    )
    .await;
    let ix =
        orderbook::sdk::cancel_order(&f.book.venue, &stranger.pubkey(), &f.k.margin_account, Side::Bid, resting.key);
    assert_refused_by(
        &mut f.env,
        &[ix],
        &[&stranger],
        u32::from(BookError::NotOwnerOrDelegate),
        &orderbook::ID,
        "direct cancel",
    )
    .await;
    // Nor can anyone withdraw from the vault's margin account directly.
    let health = f.env.health_metas(&f.k.margin_account, &[]).await;
    let token = f.holders[0].token;
    let holder = f.holders[0].owner.insecure_clone();
    let ix = perpetual::sdk::withdraw(
        &holder.pubkey(),
        &f.env.exchange,
        &f.env.mint,
        &f.k.margin_account,
        &token,
        ONE_USDC,
        health,
    );
    assert_refused_by(&mut f.env, &[ix], &[&holder], u32::from(PerpError::NotOwner), &perpetual::ID, "direct withdraw")
        .await;
    f.check(&start, false).await;
}

#[tokio::test]
async fn share_accounting_refusals() {
    let start = [1_000 * ONE_USDC, 1_000 * ONE_USDC];
    let mut f = setup(&start).await;
    f.deposit(0, 100 * ONE_USDC).await;
    f.deposit(1, 50 * ONE_USDC).await;
    f.check(&start, false).await;
    let (o0, o1) = (f.holders[0].owner.insecure_clone(), f.holders[1].owner.insecure_clone());

    // More shares than owned (though fewer than the supply): named error, state unchanged.
    let ix = f.withdraw_ix(1, 50 * ONE_USDC + 1).await;
    assert_refused_by(&mut f.env, &[ix], &[&o1], vcode(VaultError::InsufficientShares), &vault::ID, "more than owned")
        .await;
    // Zero shares, zero deposit.
    let ix = f.withdraw_ix(0, 0).await;
    assert_refused_by(&mut f.env, &[ix], &[&o0], vcode(VaultError::ZeroAmount), &vault::ID, "zero shares").await;
    let ix = f.deposit_ix(0, 0).await;
    assert_refused_by(&mut f.env, &[ix], &[&o0], vcode(VaultError::ZeroAmount), &vault::ID, "zero deposit").await;
    // Someone else's share record cannot be burned: the record is the signer's PDA.
    let mut ix = f.withdraw_ix(1, ONE_USDC).await;
    ix.accounts[3].pubkey = vsdk::share_record_address(&f.k.vault, &o0.pubkey());
    let (res, _) = f.env.simulate_with_logs(&[ix], &[&o1]).await;
    assert!(res.is_err(), "another holder's record is refused");
    // A deposit into a vault that is not this one's margin account is refused by name.
    let mut ix = f.deposit_ix(0, ONE_USDC).await;
    ix.accounts[7].pubkey = f.trader.margin_account;
    assert_refused_by(
        &mut f.env,
        &[ix],
        &[&o0],
        vcode(VaultError::WrongMarginAccount),
        &vault::ID,
        "wrong margin account",
    )
    .await;
    f.check(&start, false).await;

    // Shares are whole: after a donation to the margin account (anyone may deposit into any
    // margin account), a deposit worth less than one share is refused, and the donation
    // accrues to the holders, rounded in the vault's favour.
    let donor = f.env.create_user(10 * ONE_USDC).await;
    let ix = perpetual::sdk::deposit(
        &donor.key(),
        &f.env.exchange,
        &f.env.mint,
        &f.k.margin_account,
        &donor.token_account,
        10 * ONE_USDC,
    );
    f.env.process(&[ix], &[&donor.owner]).await.expect("donation");
    let ix = f.deposit_ix(1, 1).await;
    assert_refused_by(&mut f.env, &[ix], &[&o1], vcode(VaultError::ZeroShares), &vault::ID, "deposit under one share")
        .await;
    let token = f.holders[1].token;
    let before = f.env.token_balance(&token).await;
    f.withdraw(1, 50 * ONE_USDC).await;
    // 50 of 150 shares of 160 units (+1 virtual each): 50e6 * 160_000_001 / 150_000_001.
    let paid = f.env.token_balance(&token).await - before;
    assert_eq!(paid, amount_for_shares(50 * ONE_USDC, 150 * ONE_USDC, 160 * ONE_USDC).unwrap());
    assert!(paid > 50 * ONE_USDC && paid < 50 * ONE_USDC + 10 * ONE_USDC / 3 + 1);
    invariants::check(&mut f.env).await;
    let v = f.vault().await;
    assert_eq!(v.total_shares, f.shares_of(&o0.pubkey()).await + f.shares_of(&o1.pubkey()).await);
}
