# Sourced by run-perch.sh and run-peer.sh: from a perch-bench command line ($build, $scenario
# and the scenario's options in "$@"), how many accounts (users) and rooms to provision.
users=1000; rooms=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --users) users=${args[$((i + 1))]} ;;
    --rooms) rooms=${args[$((i + 1))]} ;;
  esac
done
if [ "$scenario" = lync-model ]; then  # the model decides how many accounts and rooms
  read -r users rooms < <("$build/bench/perch-bench" lync-model "$@" --plan)
fi
