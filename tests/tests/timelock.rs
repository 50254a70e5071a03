//! The governance time lock: risky changes queue, wait, run; cancelled and out-of-bounds
//! changes never run; and an admin that is a program's PDA acts through CPI.
use anchor_lang::{AnchorSerialize, InstructionData, ToAccountMetas};
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::params::{MAX_TIMELOCK_SECS, MIN_TIMELOCK_SECS, PROPOSAL_GRACE_SECS};
use perpetual::sdk;
use perpetual::sdk::{SetAuthoritiesArgs, UpdateMarketArgs};
use perpetual::state::{payload, GovAction};
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;

const DELAY: i64 = 2 * 86_400;

/// Takes the exchange out of bootstrap: from now on risky changes wait `DELAY`.
async fn lock(env: &mut TestEnv) {
    let admin = env.admin.insecure_clone();
    env.process(&[sdk::set_timelock(&admin.pubkey(), &env.exchange, DELAY)], &[&admin])
        .await
        .expect("set the time lock");
    assert_eq!(env.exchange_state().await.timelock_delay_secs, DELAY);
}

/// Queues `payload` as the exchange's next proposal; returns its id.
async fn queue(env: &mut TestEnv, payload: Vec<u8>) -> u64 {
    let admin = env.admin.insecure_clone();
    let id = env.exchange_state().await.proposal_count;
    env.process(&[sdk::queue_proposal(&admin.pubkey(), &env.exchange, id, payload)], &[&admin]).await.expect("queue");
    id
}

fn fee_change(taker_fee_ppm: i32) -> UpdateMarketArgs {
    UpdateMarketArgs { taker_fee_ppm: Some(taker_fee_ppm), ..Default::default() }
}

#[tokio::test]
async fn a_queued_change_runs_after_the_delay_and_not_before() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    lock(&mut env).await;
    let admin = env.admin.insecure_clone();
    let args = fee_change(700);
    let change = sdk::update_market(&admin.pubkey(), &env.exchange, &m.market, args);

    // Without a proposal the admin alone can no longer change fees.
    assert_refused(
        &mut env,
        std::slice::from_ref(&change),
        &[&admin],
        code(PerpError::ProposalRequired),
        "fee change without a proposal",
    )
    .await;

    let id = queue(&mut env, payload(GovAction::UpdateMarket, &m.market, &args)).await;
    let with = sdk::with_proposal(change, &env.exchange, id);
    assert_refused(
        &mut env,
        std::slice::from_ref(&with),
        &[&admin],
        code(PerpError::TimelockNotElapsed),
        "right after queueing",
    )
    .await;
    env.warp(DELAY - 10).await;
    assert_refused(&mut env, std::slice::from_ref(&with), &[&admin], code(PerpError::TimelockNotElapsed), "10 s early")
        .await;
    env.warp(10).await;
    env.process(std::slice::from_ref(&with), &[&admin]).await.expect("runs once the delay has passed");
    assert_eq!(env.market_state(&m.market).await.taker_fee_ppm, 700);
    // A proposal runs once.
    assert_refused(&mut env, &[with], &[&admin], code(PerpError::ProposalAlreadyExecuted), "second run").await;
    // Its rent comes back when it is closed.
    env.process(&[sdk::cancel_proposal(&admin.pubkey(), &env.exchange, id)], &[&admin]).await.expect("close executed");
}

#[tokio::test]
async fn a_cancelled_change_can_no_longer_run() {
    let mut env = TestEnv::new().await;
    lock(&mut env).await;
    let admin = env.admin.insecure_clone();
    let thief = Keypair::new();
    let args = SetAuthoritiesArgs {
        funding_authority: None,
        risk_authority: None,
        pause_guardian: Some(thief.pubkey()),
        deleverage_authority: None,
    };
    let exchange = env.exchange;
    let id = queue(&mut env, payload(GovAction::SetAuthorities, &exchange, &args)).await;
    // Only the admin cancels.
    let ix = sdk::cancel_proposal(&thief.pubkey(), &env.exchange, id);
    env.airdrop(&thief.pubkey(), 1_000_000_000).await;
    assert_refused(&mut env, &[ix], &[&thief], code(PerpError::NotAdmin), "stranger cancels").await;
    env.process(&[sdk::cancel_proposal(&admin.pubkey(), &env.exchange, id)], &[&admin]).await.expect("cancel");
    env.warp(DELAY + 1).await;
    let ix = sdk::with_proposal(sdk::set_authorities(&admin.pubkey(), &env.exchange, args), &env.exchange, id);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::ProposalRequired), "cancelled proposal").await;
    assert_eq!(env.exchange_state().await.pause_guardian, env.guardian.pubkey());
}

#[tokio::test]
async fn a_proposal_runs_only_the_change_it_names_within_its_window() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let other = env.create_market("ETH", 2_000_000_000).await;
    lock(&mut env).await;
    let admin = env.admin.insecure_clone();
    let args = fee_change(700);
    let id = queue(&mut env, payload(GovAction::UpdateMarket, &m.market, &args)).await;
    env.warp(DELAY).await;
    let exchange = env.exchange;
    let cases = [
        (sdk::update_market(&admin.pubkey(), &exchange, &m.market, fee_change(900)), "other arguments"),
        (sdk::update_market(&admin.pubkey(), &exchange, &other.market, args), "other market"),
        (sdk::set_listing_deposit(&admin.pubkey(), &exchange, 700), "other instruction"),
    ];
    for (ix, what) in cases {
        let ix = sdk::with_proposal(ix, &exchange, id);
        assert_refused(&mut env, &[ix], &[&admin], code(PerpError::ProposalMismatch), what).await;
    }
    // Past the grace window it must be queued again.
    env.warp(PROPOSAL_GRACE_SECS + 1).await;
    let ix = sdk::with_proposal(sdk::update_market(&admin.pubkey(), &exchange, &m.market, args), &exchange, id);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::ProposalExpired), "expired").await;
}

#[tokio::test]
async fn bounds_are_refused_even_through_the_time_lock() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    lock(&mut env).await;
    let admin = env.admin.insecure_clone();
    let exchange = env.exchange;
    let fees = fee_change(perpetual::params::MAX_FEE_PPM + 1);
    let band = UpdateMarketArgs { price_band_bps: Some(0), ..Default::default() };
    let deposit = perpetual::params::MAX_LISTING_DEPOSIT + 1;
    let cases: Vec<(Vec<u8>, Instruction, u32, &str)> = vec![
        (
            payload(GovAction::UpdateMarket, &m.market, &fees),
            sdk::update_market(&admin.pubkey(), &exchange, &m.market, fees),
            code(PerpError::ParameterOutOfRange),
            "taker fee above the bound",
        ),
        (
            payload(GovAction::UpdateMarket, &m.market, &band),
            sdk::update_market(&admin.pubkey(), &exchange, &m.market, band),
            code(PerpError::ParameterOutOfRange),
            "zero price band",
        ),
        (
            payload(GovAction::SetListingDeposit, &exchange, &deposit),
            sdk::set_listing_deposit(&admin.pubkey(), &exchange, deposit),
            code(PerpError::ParameterOutOfRange),
            "listing deposit above the bound",
        ),
        (
            payload(GovAction::SetTimelock, &exchange, &(MIN_TIMELOCK_SECS - 1)),
            sdk::set_timelock(&admin.pubkey(), &exchange, MIN_TIMELOCK_SECS - 1),
            code(PerpError::ParameterOutOfRange),
            "delay below the bound",
        ),
        (
            payload(GovAction::SetTimelock, &exchange, &0i64),
            sdk::set_timelock(&admin.pubkey(), &exchange, 0),
            code(PerpError::ParameterOutOfRange),
            "back to no delay",
        ),
        (
            payload(GovAction::SetTimelock, &exchange, &(MAX_TIMELOCK_SECS + 1)),
            sdk::set_timelock(&admin.pubkey(), &exchange, MAX_TIMELOCK_SECS + 1),
            code(PerpError::ParameterOutOfRange),
            "delay above the bound",
        ),
    ];
    let mut queued = vec![];
    for (p, ix, expected, what) in cases {
        let id = queue(&mut env, p).await;
        queued.push((sdk::with_proposal(ix, &exchange, id), expected, what));
    }
    env.warp(DELAY).await;
    for (ix, expected, what) in queued {
        assert_refused(&mut env, &[ix], &[&admin], expected, what).await;
    }
    // A change within the bounds, queued the same way, runs.
    let id = queue(&mut env, payload(GovAction::SetTimelock, &exchange, &MIN_TIMELOCK_SECS)).await;
    env.warp(DELAY).await;
    let ix = sdk::with_proposal(sdk::set_timelock(&admin.pubkey(), &exchange, MIN_TIMELOCK_SECS), &exchange, id);
    env.process(&[ix], &[&admin]).await.expect("delay within bounds");
    assert_eq!(env.exchange_state().await.timelock_delay_secs, MIN_TIMELOCK_SECS);
}

#[tokio::test]
async fn every_risky_change_needs_a_proposal_once_locked() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    lock(&mut env).await;
    let admin = env.admin.insecure_clone();
    let risk = env.risk_authority.insecure_clone();
    let e = env.exchange;
    let dest = env.create_token_account(&admin.pubkey(), 0).await;
    let none = SetAuthoritiesArgs {
        funding_authority: None,
        risk_authority: None,
        pause_guardian: None,
        deleverage_authority: None,
    };
    let cases: Vec<(Instruction, &Keypair, &str)> = vec![
        (sdk::set_authorities(&admin.pubkey(), &e, none), &admin, "set_authorities"),
        (sdk::propose_admin(&admin.pubkey(), &e, Keypair::new().pubkey()), &admin, "propose_admin"),
        (sdk::approve_trader(&admin.pubkey(), &e, &orderbook::ID), &admin, "approve_trader"),
        (sdk::revoke_trader(&admin.pubkey(), &e, &test_trader::ID), &admin, "revoke_trader"),
        (sdk::update_market(&admin.pubkey(), &e, &m.market, fee_change(600)), &admin, "update_market"),
        (sdk::set_index_jump(&risk.pubkey(), &e, &m.market, 3_000), &risk, "set_index_jump"),
        (sdk::set_listing_deposit(&admin.pubkey(), &e, 5), &admin, "set_listing_deposit"),
        (sdk::withdraw_insurance(&admin.pubkey(), &e, &env.mint, &dest, 1), &admin, "withdraw_insurance"),
        (
            sdk::final_settle_market(&admin.pubkey(), &e, &m.market, &m.oracle, 0, u64::MAX),
            &admin,
            "final_settle_market",
        ),
        (sdk::set_timelock(&admin.pubkey(), &e, MIN_TIMELOCK_SECS), &admin, "set_timelock"),
    ];
    for (ix, signer, what) in cases {
        assert_refused(&mut env, &[ix], &[signer], code(PerpError::ProposalRequired), what).await;
    }
    // Pausing and the keeper's routine settings stay immediate.
    let guardian = env.guardian.insecure_clone();
    env.process(&[sdk::set_exchange_paused(&guardian.pubkey(), &e, true)], &[&guardian]).await.expect("pause at once");
    env.process(&[sdk::set_exchange_paused(&admin.pubkey(), &e, false)], &[&admin]).await.expect("unpause at once");
}

#[tokio::test]
async fn insurance_withdrawal_waits_for_the_time_lock() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    let source = env.create_token_account(&admin.pubkey(), 50 * ONE_USDC).await;
    let ix = sdk::deposit_insurance(&admin.pubkey(), &env.exchange, &env.mint, &source, 50 * ONE_USDC);
    env.process(&[ix], &[&admin]).await.expect("fund insurance");
    lock(&mut env).await;
    let dest = env.create_token_account(&admin.pubkey(), 0).await;
    let amount = 20 * ONE_USDC;
    let id = queue(&mut env, payload(GovAction::WithdrawInsurance, &dest, &amount)).await;
    // The proposal names the destination: another account of the admin's does not match.
    let elsewhere = env.create_token_account(&admin.pubkey(), 0).await;
    env.warp(DELAY).await;
    let ix = sdk::with_proposal(
        sdk::withdraw_insurance(&admin.pubkey(), &env.exchange, &env.mint, &elsewhere, amount),
        &env.exchange,
        id,
    );
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::ProposalMismatch), "other destination").await;
    let ix = sdk::with_proposal(
        sdk::withdraw_insurance(&admin.pubkey(), &env.exchange, &env.mint, &dest, amount),
        &env.exchange,
        id,
    );
    env.process(&[ix], &[&admin]).await.expect("withdrawal after the delay");
    assert_eq!(env.token_balance(&dest).await, amount);
    assert_eq!(env.insurance_fund().await, 30 * ONE_USDC);
    invariants::check(&mut env).await;
}

/// `test_trader::govern` signs with its `governor` PDA, standing in for a DAO's executor.
fn govern(inner: Instruction) -> Instruction {
    let (governor, _) = test_trader::governor();
    let mut accounts =
        test_trader::accounts::Govern { perpetual_program: perpetual::ID, governor }.to_account_metas(None);
    // The inner instruction's accounts; the PDA signs inside the CPI, not on the transaction.
    accounts.extend(
        inner.accounts.into_iter().map(|m| AccountMeta { is_signer: m.is_signer && m.pubkey != governor, ..m }),
    );
    Instruction {
        program_id: test_trader::ID,
        accounts,
        data: test_trader::instruction::Govern { data: inner.data }.data(),
    }
}

#[tokio::test]
async fn a_program_pda_admin_governs_through_cpi() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let admin = env.admin.insecure_clone();
    let (governor, _) = test_trader::governor();
    env.airdrop(&governor, 1_000_000_000).await;
    // Hand the exchange to the PDA: propose, then the PDA accepts through CPI.
    env.process(&[sdk::propose_admin(&admin.pubkey(), &env.exchange, governor)], &[&admin]).await.expect("propose");
    env.process(&[govern(sdk::accept_admin(&governor, &env.exchange))], &[]).await.expect("PDA accepts");
    assert_eq!(env.exchange_state().await.admin, governor);
    // The old key is out; the PDA turns the time lock on and runs a queued change.
    let ix = sdk::set_timelock(&admin.pubkey(), &env.exchange, DELAY);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::NotAdmin), "old admin").await;
    env.process(&[govern(sdk::set_timelock(&governor, &env.exchange, DELAY))], &[])
        .await
        .expect("PDA sets the time lock");
    let args = fee_change(650);
    let id = env.exchange_state().await.proposal_count;
    let p = payload(GovAction::UpdateMarket, &m.market, &args);
    env.process(&[govern(sdk::queue_proposal(&governor, &env.exchange, id, p))], &[]).await.expect("PDA queues");
    env.warp(DELAY).await;
    let change = sdk::with_proposal(sdk::update_market(&governor, &env.exchange, &m.market, args), &env.exchange, id);
    env.process(&[govern(change)], &[]).await.expect("PDA executes");
    assert_eq!(env.market_state(&m.market).await.taker_fee_ppm, 650);
    // Pausing by the guardian and unpausing by the PDA admin.
    let guardian = env.guardian.insecure_clone();
    env.process(&[sdk::set_exchange_paused(&guardian.pubkey(), &env.exchange, true)], &[&guardian])
        .await
        .expect("guardian pauses");
    env.process(&[govern(sdk::set_exchange_paused(&governor, &env.exchange, false))], &[]).await.expect("PDA unpauses");
    assert_eq!(env.exchange_state().await.paused, 0);
    // A payload for another exchange's proposal address is refused by address.
    let bad = sdk::queue_proposal(&governor, &env.exchange, id + 7, p_bytes());
    let res = env.process(&[govern(bad)], &[]).await;
    assert_eq!(res.err().map(|e| custom_code(&e)), Some(Some(code(PerpError::WrongProposalAddress))));
}

fn p_bytes() -> Vec<u8> {
    let mut out = vec![GovAction::SetListingDeposit as u8];
    out.extend_from_slice(&[0u8; 32]);
    1u64.serialize(&mut out).expect("vec write");
    out
}
