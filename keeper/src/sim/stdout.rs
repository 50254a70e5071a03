//! The programs run natively in the simulation, where every `msg!` (Anchor's instruction
//! names, the `AnchorError thrown ...` lines of expected refusals) is a `println!`. While the
//! simulation runs, the process's standard output goes to a file instead, so the terminal
//! shows the progress bar (standard error) and the summary only.
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Standard output redirected to a file until dropped.
pub struct Redirect {
    #[cfg(unix)]
    saved: i32,
}

impl Redirect {
    /// Sends standard output to `path` (created or truncated).
    pub fn to(path: &Path) -> std::io::Result<Redirect> {
        let file = File::create(path)?;
        std::io::stdout().flush()?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: plain descriptor calls on descriptors this process owns; `saved` is
            // restored and closed exactly once, in `drop`.
            let saved = unsafe { libc::dup(libc::STDOUT_FILENO) };
            if saved < 0 || unsafe { libc::dup2(file.as_raw_fd(), libc::STDOUT_FILENO) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Redirect { saved })
        }
        #[cfg(not(unix))]
        {
            drop(file);
            Ok(Redirect {})
        }
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        let _ = std::io::stdout().flush();
        #[cfg(unix)]
        // SAFETY: see `to`.
        unsafe {
            libc::dup2(self.saved, libc::STDOUT_FILENO);
            libc::close(self.saved);
        }
    }
}
