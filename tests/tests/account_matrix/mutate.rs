//! Deriving each row's mutated instruction from its base.
use super::*;
use super::{table::*, world::*};

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

impl World {
    pub(super) fn keypairs(&self) -> Vec<&Keypair> {
        let e = &self.env;
        vec![
            &e.admin,
            &e.funding_authority,
            &e.risk_authority,
            &e.guardian,
            &e.oracle_authority,
            &self.a.owner,
            &self.m.owner,
            &self.empty.owner,
            &self.delegate,
            &self.pending,
            &self.mallory,
            &self.wallet,
            &self.admin2,
            &self.deployer,
            &e.deleverage_authority,
            &self.x.mk.owner,
            &self.x.b.owner,
            &self.x.bm.owner,
            &self.x.lq.owner,
            &self.x.uw.owner,
            &self.x.cp.owner,
            &self.x.lr.owner,
            &self.x.bd.owner,
            &self.x.keeper,
            &self.x.fl.owner,
            &self.x.lister,
            &self.x.creator,
            &self.x.st.owner,
            &self.x.tk.owner,
            &self.x.bt.owner,
            &self.x.s.fs.owner,
            &self.x.s.fv.owner,
            &self.x.s.rv.owner,
            &self.x.s.rc.owner,
        ]
    }

    /// The keypairs that sign `ix` (the fee payer signs anyway).
    pub(super) fn signers(&self, ix: &Instruction) -> Vec<Keypair> {
        let payer = self.env.ctx.payer.pubkey();
        let keys = self.keypairs();
        let mut out: Vec<Keypair> = Vec::new();
        for meta in ix.accounts.iter().filter(|m| m.is_signer && m.pubkey != payer) {
            if out.iter().any(|k| k.pubkey() == meta.pubkey) {
                continue;
            }
            let k = keys
                .iter()
                .find(|k| k.pubkey() == meta.pubkey)
                .unwrap_or_else(|| panic!("no keypair signs for {}", meta.pubkey));
            out.push(k.insecure_clone());
        }
        out
    }

    pub(super) fn who(&self, who: Who) -> Pubkey {
        match who {
            Who::Admin => self.env.admin.pubkey(),
            Who::Guardian => self.env.guardian.pubkey(),
            Who::Risk => self.env.risk_authority.pubkey(),
            Who::Delegate => self.delegate.pubkey(),
            Who::Deleverage => self.env.deleverage_authority.pubkey(),
        }
    }

    pub(super) fn sub(&self, sub: Sub) -> Pubkey {
        match sub {
            Sub::SystemWallet => self.wallet.pubkey(),
            Sub::Missing => self.missing,
            Sub::Unique => Pubkey::new_unique(),
            Sub::Exchange => self.env.exchange,
            Sub::Exchange2 => self.exchange2,
            Sub::Market => self.sol.market,
            Sub::OtherMarket => self.eth.market,
            Sub::Market2 => self.market2,
            Sub::Oracle => self.sol.oracle,
            Sub::OtherOracle => self.eth.oracle,
            Sub::OtherMargin => self.m.margin_account,
            Sub::Margin2 => self.margin2,
            Sub::EmptyMargin => self.empty.margin_account,
            Sub::Approval2 => self.approval2,
            Sub::ApprovalOther => self.approval_other,
            Sub::TokenAccount => self.m.token_account,
            Sub::Token2 => self.token2,
            Sub::Mint => self.env.mint,
            Sub::Mint2 => self.mint2,
            Sub::Vault2 => sdk::vault_address(&self.exchange2),
            Sub::TokenProgram => spl_token_interface::ID,
            Sub::SystemProgram => anchor_lang::system_program::ID,
            Sub::OtherMarginPda => sdk::margin_account_address(&self.env.exchange, &self.m.key(), 7),
            Sub::Book => self.x.bk.venue.book,
            Sub::OtherBook => self.x.rsk.venue.book,
            Sub::ZeroBook => self.x.zero_book,
            Sub::SettledMarket => self.x.fin.market,
            Sub::BookApproval => sdk::approval_address(&self.env.exchange, &orderbook::ID),
            Sub::TraderApproval => sdk::approval_address(&self.env.exchange, &test_trader::ID),
            Sub::PythGarbage => self.x.pyth_garbage,
            Sub::OtherProgramData => self.other_program_data,
        }
    }

    /// A copy of `key` (bytes and lamports) owned by another program.
    pub(super) async fn foreign_clone(&mut self, key: &Pubkey) -> Pubkey {
        if let Some(c) = self.clones.get(key) {
            return *c;
        }
        let original = self.env.account(key).await.unwrap_or_else(|| panic!("clone of missing {key}"));
        let clone = Pubkey::new_unique();
        let account = Account {
            lamports: original.lamports,
            data: original.data,
            owner: FOREIGN_OWNER,
            executable: false,
            rent_epoch: 0,
        };
        self.env.ctx.set_account(&clone, &account.into());
        self.clones.insert(*key, clone);
        clone
    }

    /// A perpetual-owned copy of `margin` whose position in `market` names `replacement`.
    pub(super) async fn fabricate(&mut self, margin: &Pubkey, market: &Pubkey, replacement: &Pubkey) -> Pubkey {
        if let Some(f) = self.fabricated.get(&(*margin, *market, *replacement)) {
            return *f;
        }
        let original = self.env.account(margin).await.expect("margin account");
        let mut data = original.data.clone();
        let (_, positions) = self.env.margin(margin).await;
        let i = positions.iter().position(|p| p.market == *market).expect("position in market");
        let at = HEADER_LEN + i * POSITION_LEN;
        data[at..at + 32].copy_from_slice(replacement.as_ref());
        let key = Pubkey::new_unique();
        let account =
            Account { lamports: original.lamports, data, owner: perpetual::ID, executable: false, rent_epoch: 0 };
        self.env.ctx.set_account(&key, &account.into());
        self.fabricated.insert((*margin, *market, *replacement), key);
        key
    }

    /// The instruction of `row`, mechanically derived from the valid one.
    pub(super) async fn mutate(&mut self, b: &Base, row: &Row) -> Instruction {
        let mut ix = b.ix.clone();
        if matches!(row.case, Case::Health(_)) {
            let h = match row.case {
                Case::Health(h) => h,
                _ => unreachable!(),
            };
            self.mutate_health(b, &mut ix, h).await;
            return ix;
        }
        if matches!(row.case, Case::Reinit | Case::Variant(_)) {
            return ix;
        }
        let i = b.index(row.slot);
        match row.case {
            Case::Unsigned => {
                assert!(ix.accounts[i].is_signer, "{} {}: not a signer", b.key, row.slot);
                ix.accounts[i].is_signer = false;
            }
            Case::Impostor => {
                assert!(b.ix.accounts[i].is_signer, "{} {}: not a signer", b.key, row.slot);
                ix.accounts[i].pubkey = self.mallory.pubkey();
            }
            Case::SignAs(who) => {
                assert!(b.ix.accounts[i].is_signer, "{} {}: not a signer", b.key, row.slot);
                ix.accounts[i].pubkey = self.who(who);
            }
            Case::ForeignOwner => {
                let original = ix.accounts[i].pubkey;
                ix.accounts[i].pubkey = self.foreign_clone(&original).await;
            }
            Case::Swap(_, sub) => ix.accounts[i].pubkey = self.sub(sub),
            Case::ReadOnly => {
                assert!(ix.accounts[i].is_writable, "{} {}: not writable", b.key, row.slot);
                ix.accounts[i].is_writable = false;
            }
            Case::DupOf(other) => ix.accounts[i].pubkey = ix.accounts[b.index(other)].pubkey,
            Case::Special(_, Multi::TraderProgramNotExecutable) => {
                let wallet = self.wallet.pubkey();
                ix.accounts[i].pubkey = wallet;
                ix.accounts[b.index("approval")].pubkey = sdk::approval_address(&self.env.exchange, &wallet);
            }
            Case::Special(_, Multi::CreateMarketOnOtherExchange) => {
                ix.accounts[i].pubkey = self.exchange2;
                ix.accounts[b.index("market")].pubkey = sdk::market_address(&self.exchange2, &sdk::symbol("NEWM"));
            }
            Case::Reinit | Case::Variant(_) | Case::Health(_) => {}
        }
        ix
    }

    pub(super) async fn mutate_health(&mut self, b: &Base, ix: &mut Instruction, h: HealthMut) {
        let (start, owner_slot) = b.health.unwrap_or_else(|| panic!("{}: takes no health accounts", b.key));
        let mut health: Vec<AccountMeta> = ix.accounts.split_off(start);
        assert!(health.len() >= 4, "{}: health mutations need two pairs", b.key);
        let first_market = health[0].pubkey;
        match h {
            HealthMut::Extra => health.push(AccountMeta::new_readonly(self.wallet.pubkey(), false)),
            HealthMut::DropLastPair => health.truncate(health.len() - 2),
            HealthMut::DropAll => health.clear(),
            HealthMut::SwapWithinPair => health.swap(0, 1),
            HealthMut::SwapPairs => {
                health.swap(0, 2);
                health.swap(1, 3);
            }
            HealthMut::DuplicatePair => {
                let pair = health[..2].to_vec();
                health.splice(2..2, pair);
            }
            HealthMut::WrongOracle => {
                health[1].pubkey = if health[1].pubkey == self.eth.oracle { self.sol.oracle } else { self.eth.oracle }
            }
            HealthMut::ForeignOwnedOracle => health[1].pubkey = self.foreign_clone(&health[1].pubkey.clone()).await,
            HealthMut::IncludeOwnMarket => {
                let (market, oracle) = b.own_market.unwrap_or_else(|| panic!("{}: takes no market", b.key));
                health
                    .splice(0..0, [AccountMeta::new_readonly(market, false), AccountMeta::new_readonly(oracle, false)]);
            }
            HealthMut::OtherExchangeMarket => health[0].pubkey = self.market2,
            HealthMut::ForeignOwnedMarket => health[0].pubkey = self.foreign_clone(&first_market).await,
            HealthMut::FabricatedOtherExchange | HealthMut::FabricatedForeignOwned | HealthMut::FabricatedNotMarket => {
                let replacement = match h {
                    HealthMut::FabricatedOtherExchange => self.market2,
                    HealthMut::FabricatedForeignOwned => self.foreign_clone(&first_market).await,
                    _ => self.eth.oracle,
                };
                let slot = b.index(owner_slot);
                let margin = ix.accounts[slot].pubkey;
                ix.accounts[slot].pubkey = self.fabricate(&margin, &first_market, &replacement).await;
                health[0].pubkey = replacement;
            }
        }
        ix.accounts.extend(health);
    }
}
