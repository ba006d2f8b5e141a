// The job runner's settings, filled by the argument parser (args.cpp) and read by everything else.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::app {

// Bad input: printed as one line "sluice: <what>" and exit 255, before any job starts.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One input source: `::: values`, `:::: file` / `-a file` ("-" is stdin), or stdin by default.
struct input_source {
  enum class kind { values, file, standard_input };
  kind type = kind::standard_input;
  std::vector<std::string> values{};  // for kind::values
  std::string path{};                 // for kind::file
  bool linked_to_previous = false;    // :::+ / ::::+
};

// Ends the program with this status after what was printed (--minversion newer than ours).
struct exit_request {
  int status;
};

// The GNU parallel release whose behaviour sluice follows (--minversion compares against it).
inline constexpr const char* k_gnu_version = "20221122";

enum class output_mode { group, line_buffer, ungroup };

enum class halt_when { never, soon, now };
enum class halt_why { fail, success, done };

struct halt_policy {
  halt_when when = halt_when::never;
  halt_why why = halt_why::fail;
  double count = 0;      // jobs (when !percent) or a fraction of the total jobs (when percent)
  bool percent = false;
};

struct term_step {
  int signal;
  int wait_ms;
};

enum class results_kind { none, tree, templated, csv, tsv, json };

struct config {
  std::vector<std::string> command{};  // the command words
  std::vector<input_source> sources{};
  bool link = false;
  std::vector<bool> link_input_sources{};  // --linkinputsource N...: is source k linked to the one before
  std::string arg_sep = ":::";        // --arg-sep
  std::string arg_file_sep = "::::";  // --arg-file-sep

  // Input splitting.
  char delimiter = '\n';
  std::string env_prelude{};     // $PARALLEL_ENV (its text, or the file it names): shell code run before each command
  std::string delimiter_text{};
  bool tollef = false, gnu = false;  // the retired --tollef is an error unless --gnu overrides it  // -d / -0 as given (GNU allows several characters); empty: newline, the default
  bool null_delim = false;
  std::optional<std::string> eof_string{};  // -E
  std::optional<std::string> colsep{};
  std::string trim = "n";  // n, l, r, lr, rl
  bool trim_given = false;  // --trim was given (else --colsep makes it lr)
  bool skip_empty = false;  // -r
  bool header = false;      // --header :
  std::string header_text;  // its value: ":" (a line), N (N lines, --pipe), or a regex the head matches (--pipe)

  // Composition.
  std::string replace_str = "{}";  // -I
  // --er, --bnr, --dnr, --bner, --seqreplace, --slotreplace: {.} {/} {//} {/.} {#} {%} spelt otherwise
  // (the map's key, without braces), the original spelling then being plain text, as in GNU parallel.
  std::map<std::string, std::string> renamed;
  std::optional<std::string> process_slot_var;
  std::string cpu_unit = "threads";  // --use-cores-instead-of-threads, --use-sockets-instead-of-threads  // --process-slot-var: also this variable holds the slot - 1
  std::vector<std::string> rpl{};  // --rpl 'TAG PERL-EXPRESSION', in the order given
  bool plus = false;
  bool quote_command = false;  // -q
  std::string parens = "{==}";  // --parens: the left half opens a Perl expression, the right half closes it
  int shell_quote = 0;          // --shell-quote (once per time given): print the composed command quoted, run nothing
  std::vector<std::string> filters{};  // --filter: Perl conditions (replacement strings substituted); false skips the job
  // --template file=name: each job writes file with its replacement strings substituted to name (also substituted)
  std::vector<std::pair<std::string, std::string>> templates{};
  std::size_t max_args = 1;    // -n / -N / -X / -m / -L
  bool max_replace_args = false;  // -N: {1}..{N} index the arguments
  bool xargs_context = false;     // -X
  bool multi_args = false;        // -m (also --xargs alone)
  bool xargs_fill = false;        // --xargs
  bool spread_last = true;        // -X/-m share the last arguments out among the job slots; --xargs alone does not
  bool args_given = false;        // -n/-N/-L given explicitly
  std::size_t max_line_length = 0;  // -s; 0 until resolved: GNU's usable command length (limits.hpp)

  // Running.
  std::string jobs_spec = "100%";
  std::size_t jobs = 1;  // resolved
  std::string jobs_procfile;  // -j FILE: the file, read again as jobs end
  bool jobs_fd_capped = false;  // the descriptor limit (ulimit -n) lowered `jobs`: warned as GNU warns
  bool jobs_given = false;  // -j / -P given (a semaphore's default is 1)
  output_mode output = output_mode::group;
  bool keep_order = false;
  bool no_keep_order = false;  // --no-keep-order: beats -k wherever either stands
  bool tag = false;
  bool latest_line = false;  // --latest-line: each running job's last line, on a row of its own
  std::optional<std::string> tagstring{};
  bool color = false;  // --color, --ctag, --ctagstring
  bool files = false;  // --files: each job's stdout to a file, whose name is printed (its stderr is dropped)
  bool dry_run = false;
  bool verbose = false;
  bool trace = false;  // -t: each job's command on stderr as it starts
  bool tmux = false;        // --tmux: each job in a tmux window (tmux.hpp)
  bool tmux_panes = false;  // --tmuxpane: in a pane of the first window
  std::string debug{};  // -D/--debug: what to trace on stderr: init, run or all (GNU's other names: nothing)
  std::optional<std::string> timeout_spec{};
  double timeout_seconds = 0;  // absolute, when !timeout_percent
  double timeout_percent = 0;  // N% of the median runtime
  unsigned retries = 1;         // attempts in total; UINT_MAX: until the job succeeds (--retries 0)
  std::optional<std::string> retries_template;  // --retries with a replacement string: counted per job
  bool retries_given = false;
  halt_policy halt{};
  std::vector<term_step> term_seq{{15, 200}, {15, 100}, {15, 50}, {9, 25}};
  std::optional<std::size_t> total_jobs{};

  // Records.
  std::optional<std::string> joblog{};
  bool joblog_append = false;
  bool resume = false;
  bool resume_failed = false;
  results_kind results = results_kind::none;
  std::string results_path{};

  // Feedback.
  bool bar = false;
  bool progress = false;
  bool eta = false;

  // --number-of-cpus/-cores/-threads/-sockets, --minversion: print this and run nothing.
  std::string info{};

  // --tmpdir: main() exports it as TMPDIR (parsing itself changes nothing outside the config).
  std::optional<std::string> tmpdir{};

  // Starting jobs: --delay (seconds between starts; "auto" adapts it), --load (start nothing while the instant
  // load is at least this), --memfree (start nothing while less is free; kill the youngest job below half).
  double delay = 0;
  bool delay_auto = false;
  std::optional<double> max_load{};
  double memfree = 0;

  // --semaphore / sem (semaphore.cpp): one command, holding one of -j slots of a semaphore.
  bool semaphore = false;
  std::optional<std::string> semaphore_name{};  // --id; default: stdin's terminal
  double semaphore_timeout = 0;  // --st: > 0 take a slot anyway after that long, < 0 give up (exit 1)
  bool semaphore_fg = false;     // --fg (else --bg)
  bool fg_given = false;         // --fg: a semaphore's, or with --tmux, attach in the foreground
  bool semaphore_bg = false;     // --bg given (GNU refuses it with -p)
  bool semaphore_wait = false;   // --wait
  int semaphore_status = 0;      // the command's status, as sem returns it (set by the runner)

  // --pipe.
  bool pipe = false;
  bool pipe_part = false;  // --pipe-part: blocks cut from the -a files by seeking (pipe_mode.cpp)
  bool fifo = false;         // --fifo: each block through a named pipe, {} its name ($PARALLEL_TMP)
  bool round_robin = false;  // --round-robin: a job per slot, the blocks dealt to whichever is ready
  bool tee = false;          // --tee: every job (one per argument) reads the whole input
  std::string stdin_file;    // --pipe-part --tee: the file every job reads as its stdin
  bool cat = false;  // --cat: each block in a temp file, {} its name ($PARALLEL_TMP), removed after the job
  std::size_t block_size = 1024 * 1024;
  // --block -N (N may be a fraction or carry a unit): under --pipe-part, blocks sized so each job slot gets about
  // N of them (GNU's default there is 10); 0: --block is a byte count
  double blocks_per_slot = 0;
  bool block_given = false;
  std::string recend = "\n";
  std::string recstart{};
  bool recend_given = false;
  std::size_t pipe_records = 0;           // -N under --pipe: records per block (0 = by size)
  std::size_t pipe_lines_per_record = 0;  // -L under --pipe: a record is this many lines (0 = by --recend)
  bool regexp = false;          // --regexp: --recstart and --recend are regular expressions (as written, unescaped)
  std::string recend_text = "\n", recstart_text{};
  bool remove_rec_sep = false;  // --remove-rec-sep: the separators leave each block
  double block_timeout = 0;     // --block-timeout: a block not full after this many seconds goes as it is
  // --shard / --bin: "column [perl expression]"; every line goes to the job its column's value picks (shard.hpp)
  std::optional<std::string> shard{};
  bool shard_is_bin = false;  // --bin: the value modulo the job count picks the job (else a hash of it)
  // "--shard" / "--bin" when given (also under --pipe-part, where they deal nothing): every job must start at
  // once, so more jobs than job slots is an error
  std::string all_at_once{};

  // GNU's local options of options_local.cpp.
  bool show_limits = false;               // --show-limits: print the limits, then run as usual
  std::vector<std::string> env_names{};   // --env (locally every variable reaches the jobs anyway)
  bool record_env = false;                // --record-env: write $PARALLEL_HOME/ignored_vars, run nothing
  std::optional<int> nice{};              // --nice: the jobs' absolute nice value
  bool skip_first_line = false;           // --skip-first-line (--shebang): the first input line is not an argument
  bool pipe_means_argfiles = false;       // (--shebang-wrap) under --pipe, ::: values name input files
  bool shuffle = false;                   // --shuf: the jobs in random order
  bool csv = false;                       // --csv: input lines are CSV records (columns as with --colsep)
  std::optional<std::string> group_by{};  // --group-by: --pipe blocks hold whole groups of equal column values
  // The runner's options of GNU's that change how jobs start and what they see.
  bool color_failed = false;              // --color-failed: a failed job's output in white on red
  bool retry_failed = false;              // --retry-failed: the joblog's failed jobs again, nothing else
  std::optional<std::string> limit{};     // --limit: a command run before each start; 0 start, 1 wait, 2 kill youngest
  double memsuspend = 0;                  // --memsuspend: suspend jobs below 2x this much free memory
  bool noswap = false;                    // --noswap: start nothing while the machine swaps in and out
  // --compress / --compress-program / --decompress-program: the jobs' buffered output through these commands.
  bool compress = false;
  std::string compress_program{};
  std::string decompress_program{};
  bool open_tty = false;
  bool tty_defaults = false;  // --tty: -j1 and -u unless given
  bool output_given = false;  // -u, --group, --line-buffer given                  // -o / --open-tty (and --tty): each job's stdin is the terminal
  bool interactive = false;               // -p: ask on the terminal before each job
  std::optional<std::string> shell_completion{};  // --shell-completion bash|zsh|auto: print the script, run nothing
  // Remote hosts over ssh (remote.hpp): -S values and --sshloginfile names as given, parsed by the runner.
  std::vector<std::string> sshlogins{};
  std::vector<std::string> sshloginfiles{};
  std::string ssh_command = "ssh";          // --ssh
  bool hostgroups = false;                   // --hostgroups: an argument's @grp+grp picks its hosts
  std::optional<std::string> rsync_opts;     // --rsync-opts (else $PARALLEL_RSYNC_OPTS, else -rlDR)
  bool controlmaster = false;                // -M: multiplex even when --ssh does not look like ssh
  double ssh_delay = 0;                      // --sshdelay seconds between logins
  std::vector<std::string> transfer_files{}; // --transferfile (--transfer: {})
  std::string transfer_spelling;             // which of --trc / --transfer / --transferfile set them (warnings)
  std::vector<std::string> return_files{};   // --return
  bool cleanup = false;                      // --cleanup
  std::vector<std::string> basefiles{};      // --basefile
  std::optional<std::string> workdir{};      // --workdir
  bool onall = false;                        // --onall
  bool nonall = false;                       // --nonall
  bool filter_hosts = false;                 // --filter-hosts
  // The SQL job queue (sql_queue.hpp): DBURLs as given; --sqlandworker sets both.
  std::optional<std::string> sql_master{};
  std::optional<std::string> sql_worker{};
  bool sql_wait = false;  // --wait: the master returns once every row is done or failed

  // --slurm (slurm.hpp): each job a step of the allocation, this many CPUs each (--cpus-per-job).
  bool slurm = false;
  std::size_t slurm_cpus_per_job = 1;
};

// Parses argv after GNU parallel's default options ($PARALLEL_HOME/config or the -J profiles, then
// $PARALLEL); throws usage_error (and std::bad_alloc), never exits. Prints --help / --version itself and
// returns nullopt then. Reads the file system only for those option files, to check that input files and a
// -j procfile are readable (and to read the procfile).
std::optional<config> parse_command_line(int argc, char** argv);

// Parses a C-escaped delimiter such as "\t", "\0", "\x1f", "\012".
std::string unescape_delimiter(const std::string& s);
// GNU parallel's reading of --tagstring: \t, \n, \r and octal \N / \NNN become those bytes; nothing else.
std::string unquote_printf(const std::string& s);

}  // namespace sluice::app
